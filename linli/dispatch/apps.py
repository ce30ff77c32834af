from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "linli.dispatch"
    label = "dispatch"
    verbose_name = _("Dispatch center")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from linli.dispatch import escalation_inbox, live
        from linli.iot.signals import alarm_changed

        alarm_changed.connect(live.on_alarm_changed, dispatch_uid="dispatch-console-push")
        alarm_changed.connect(escalation_inbox.on_alarm_changed, dispatch_uid="dispatch-escalation-inbox")
