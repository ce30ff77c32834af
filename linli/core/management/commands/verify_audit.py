"""Verify the audit log's hash chain; name the first broken record and exit 1 if it does not hold."""

from django.core.management.base import BaseCommand, CommandError

from linli.core.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit hash chain. Exit status 0 when intact, 1 with the first broken record otherwise."

    def handle(self, *args, **options):
        report = verify_chain()
        if report.ok:
            self.stdout.write(f"audit chain intact: {report.checked} records checked")
            return
        raise CommandError(
            f"audit chain broken at record seq={report.first_broken.seq}: {report.reason} "
            f"({report.checked} records before it are intact)",
            returncode=1,
        )
