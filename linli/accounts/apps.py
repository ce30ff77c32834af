from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "linli.accounts"
    label = "accounts"

    def ready(self) -> None:
        from linli.accounts import signals  # noqa: F401
