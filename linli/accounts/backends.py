from django.contrib.auth.backends import ModelBackend


class LockoutBackend(ModelBackend):
    """The model backend, refusing a locked account even with the right password."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_locked", False)
