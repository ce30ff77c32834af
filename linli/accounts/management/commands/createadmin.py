"""Create the first administrator (or security administrator / auditor) with a password that passes the policy."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from linli.accounts.models import Assignment, Role, User
from linli.core import audit, context
from linli.core import permissions as perms
from linli.core.models import AuditRecord


class Command(BaseCommand):
    help = "Create a system administrator, security administrator or auditor account (三员分立: one role each)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=perms.SEPARATED_ROLES, default="admin")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--password-file", help="read the password from the first line of this file")

    def handle(self, *args, username: str, role: str, display_name: str, password_file: str | None, **options):
        context.current().channel = "command"
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"an account named {username!r} already exists")
        password = self._password(password_file)
        candidate = User(username=username, display_name=display_name)
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise CommandError("the password is too weak:\n  " + "\n  ".join(exc.messages)) from None
        with transaction.atomic():
            candidate.set_password(password)
            candidate.save()
            Assignment.objects.create(user=candidate, role=Role.objects.get(code=role))
            audit.record(
                AuditRecord.Action.PERMISSION,
                candidate,
                username="createadmin",
                after={"username": username, "assignments": [role]},
            )
        self.stdout.write(self.style.SUCCESS(f"created {role} account {username!r}"))

    def _password(self, password_file: str | None) -> str:
        if password_file:
            try:
                lines = Path(password_file).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CommandError(f"cannot read the password file: {exc}") from None
            return lines[0] if lines else ""
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise CommandError("the two passwords differ")
        return first
