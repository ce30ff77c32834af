"""Manage the client applications allowed to POST to Open311.

manage.py open311_client create --name "街道App" --contact "dev@example.org"   (prints the key once)
manage.py open311_client list
manage.py open311_client disable <id>      (enable <id> turns it back on)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.cases.models import Open311Client
from linli.cases.open311 import clients
from linli.core import context


class Command(BaseCommand):
    help = "Create, list, disable or enable Open311 client applications (api_keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a client and print its api_key (shown once).")
        create.add_argument("--name", required=True)
        create.add_argument("--contact", default="")
        sub.add_parser("list", help="List the clients.")
        for name in ("disable", "enable"):
            p = sub.add_parser(name, help=f"{name.capitalize()} a client by id.")
            p.add_argument("client_id", type=int)

    def handle(self, *args, **options) -> None:
        context.current().channel = "command"
        action = options["action"]
        if action == "create":
            name = options["name"].strip()
            if not name:
                raise CommandError("--name must not be empty.")
            client, key = clients.issue(name, options["contact"])
            self.stdout.write(f"Client {client.pk}: {client.name}")
            self.stdout.write(f"api_key: {key}")
            self.stdout.write("Keep the key now: Linli stores only its SHA-256 and cannot show it again.")
        elif action == "list":
            for c in Open311Client.objects.order_by("pk"):
                state = "active" if c.active else "disabled"
                created = c.created_at.strftime("%Y-%m-%d")
                self.stdout.write(f"{c.pk}\t{c.key_prefix}…\t{state}\t{created}\t{c.name}\t{c.contact}")
        else:
            found = Open311Client.objects.filter(pk=options["client_id"]).first()
            if found is None:
                raise CommandError(f"No Open311 client with id {options['client_id']}.")
            clients.set_active(found, action == "enable")
            self.stdout.write(f"Client {found.pk} ({found.name}) {action}d.")
