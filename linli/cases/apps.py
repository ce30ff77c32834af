from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "linli.cases"
    label = "cases"
    verbose_name = _("Work orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from linli.cases import workcal
        from linli.cases.models import CalendarDay

        # workcal.invalidate is a module function, so the default weak reference keeps it alive
        post_save.connect(workcal.invalidate, sender=CalendarDay, dispatch_uid="cases.calendar.save")
        post_delete.connect(workcal.invalidate, sender=CalendarDay, dispatch_uid="cases.calendar.delete")
