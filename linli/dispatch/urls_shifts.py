"""/dispatch/shifts/ (roster and handovers) and /dispatch/kpi/ (the center's KPIs)."""

from django.urls import path

from linli.dispatch import views_shifts as v

app_name = "shifts"

urlpatterns = [
    path("shifts/", v.roster_page, name="roster"),
    path("shifts/fill/", v.roster_fill, name="roster-fill"),
    path("shifts/<int:pk>/edit/", v.shift_edit, name="shift-edit"),
    path("shifts/<int:pk>/handover/", v.handover_write, name="handover-write"),
    path("shifts/handovers/<int:pk>/receive/", v.handover_receive, name="handover-receive"),
    path("kpi/", v.kpi_page, name="kpi"),
    path("kpi/export/", v.kpi_export, name="kpi-export"),
]
