from django.urls import include, path

from linli.people import views

app_name = "people"
urlpatterns: list = [
    path("io/", include("linli.people.urls_spreadsheets")),
    path("residents/", views.resident_list, name="resident-list"),
    path("residents/new/", views.resident_create, name="resident-create"),
    path("residents/<int:pk>/", views.resident_detail, name="resident-detail"),
    path("residents/<int:pk>/edit/", views.resident_edit, name="resident-edit"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident-reveal"),
    path("residents/<int:pk>/contacts/new/", views.contact_add, name="contact-add"),
    path("residents/<int:pk>/residences/new/", views.occupancy_add, name="occupancy-add"),
    path("residences/<int:pk>/remove/", views.occupancy_remove, name="occupancy-remove"),
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("organizations/", views.organization_list, name="organization-list"),
    path("organizations/new/", views.organization_create, name="organization-create"),
    path("organizations/<int:pk>/", views.organization_detail, name="organization-detail"),
    path("organizations/<int:pk>/edit/", views.organization_edit, name="organization-edit"),
    path("binding/", views.binding_request, name="binding-request"),
    path("bindings/", views.binding_list, name="binding-list"),
    path("bindings/<int:pk>/approve/", views.binding_decide, {"decision": "approve"}, name="binding-approve"),
    path("bindings/<int:pk>/reject/", views.binding_decide, {"decision": "reject"}, name="binding-reject"),
    path("me/", views.my_data, name="my-data"),
    path("me/download/", views.my_data_download, name="my-data-download"),
]
