from django.urls import path

from linli.dispatch import views, views_history

app_name = "dispatch"

urlpatterns = [
    path("", views.console, name="console"),
    path("alarms.json", views.console_alarms, name="alarms"),
    path("history/", views_history.history, name="history"),
    path("alarms/<int:pk>/claim/", views.claim, name="claim"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("incidents/<int:pk>/<slug:action>/", views.incident_act, name="incident-act"),
    path("incidents/<int:pk>/contacts/<int:contact_pk>/reveal/", views.contact_reveal, name="contact-reveal"),
    path("rescue/", views.rescue, name="rescue"),
    path("rescue/duty/", views.rescue_duty, name="rescue-duty"),
    path("rescue/position/", views.rescue_position, name="rescue-position"),
    path("rescue/<int:pk>/<slug:action>/", views.rescue_act, name="rescue-act"),
]
