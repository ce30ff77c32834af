from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "The user name or password is wrong. After %(max)s wrong tries the account is locked for a while."
        ),
        "inactive": _("This account is disabled or temporarily locked. Try again later or ask your administrator."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings

        self.error_messages = dict(self.error_messages)
        self.error_messages["invalid_login"] = self.error_messages["invalid_login"] % {
            "max": settings.LOGIN_MAX_FAILURES
        }

    def get_invalid_login_error(self):
        username = self.cleaned_data.get("username") if hasattr(self, "cleaned_data") else None
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=username).first() if username else None
        if user is not None and user.is_locked:
            return forms.ValidationError(self.error_messages["inactive"], code="inactive")
        return super().get_invalid_login_error()
