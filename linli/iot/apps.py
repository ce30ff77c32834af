from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IotConfig(AppConfig):
    name = "linli.iot"
    label = "iot"
    verbose_name = _("Devices and alarms")
    default_auto_field = "django.db.models.BigAutoField"
