"""The device registry under /devices/ (namespace "iot")."""

from django.urls import path

from linli.iot import views

app_name = "iot"

urlpatterns = [
    path("", views.device_list, name="device-list"),
    path("new/", views.device_create, name="device-create"),
    path("houses.json", views.house_lookup, name="house-lookup"),
    path("<int:pk>/", views.device_detail, name="device-detail"),
    path("<int:pk>/edit/", views.device_edit, name="device-edit"),
    path("<int:pk>/credential/", views.device_credential, name="device-credential"),
    path("provision/", views.provision_index, name="provision"),
    path("provision/template.xlsx", views.provision_template, name="provision-template"),
    path("provision/import/", views.provision_import, name="provision-import"),
    path("provision/secrets/<str:ticket>.xlsx", views.provision_secrets, name="provision-secrets"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/<int:pk>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    path("rules/override/", views.rule_override, name="rule-override"),
    path("rules/export.json", views.rules_export, name="rules-export"),
    path("rules/import/", views.rules_import, name="rules-import"),
    path("rejected/", views.rejected, name="rejected"),
]
