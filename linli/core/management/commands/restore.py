"""manage.py restore ARCHIVE [--yes]: put back what `manage.py backup` saved.

Everything is checked before anything is touched: the archive opens, holds exactly the expected
parts, every checksum in the manifest matches, the database vendor matches the configured one and
(for SQLite) the copy passes `PRAGMA integrity_check`. Then the database is replaced, the media
directory is swapped in, and the audit chain is verified and reported.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.utils import timezone

from linli.core.management.commands.backup import (
    DATABASE_PART,
    FORMAT,
    MANIFEST,
    MEDIA,
    applied_migrations,
    pg_connection_args,
    pg_tool,
    sha256_of,
)


def unpack(archive: Path, work: Path) -> dict:
    """Extract the archive's parts into `work` and return its verified manifest."""
    if not archive.is_file():
        raise CommandError(f"backup archive not found: {archive}")
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in members:
                raise CommandError(f"{archive} is not a Linli backup: it has no {MANIFEST}")
            allowed = {MANIFEST, MEDIA, *DATABASE_PART.values()}
            unexpected = sorted(n for n in members if n not in allowed or not members[n].isfile())
            if unexpected:
                raise CommandError(f"{archive} holds unexpected entries: {', '.join(unexpected)}")
            tar.extractall(work, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CommandError(f"{archive} is damaged or not a backup archive ({exc})") from exc

    try:
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
        parts = manifest["parts"]
        vendor = manifest["database"]["vendor"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"the manifest in {archive} is unreadable ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise CommandError(f"backup format {manifest.get('format')!r} is not supported (expected {FORMAT})")
    if vendor not in DATABASE_PART or manifest["database"].get("part") != DATABASE_PART[vendor]:
        raise CommandError(f"the manifest names an unknown database {vendor!r}")
    for part in (DATABASE_PART[vendor], MEDIA):
        if part not in parts:
            raise CommandError(f"the manifest does not list {part}")
        path = work / part
        if not path.is_file():
            raise CommandError(f"the archive is missing {part}")
        if sha256_of(path) != parts[part].get("sha256"):
            raise CommandError(f"{part} does not match its checksum: the archive is corrupt")
    return manifest


def check_sqlite_copy(path: Path) -> None:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"the database in the archive is not readable ({exc})") from exc
    if result != "ok":
        raise CommandError(f"the database in the archive fails its integrity check: {result}")


def restore_sqlite(copy: Path) -> None:
    """Write the copy into the configured database file in one transaction.

    The online backup API, run in reverse, replaces every page under an exclusive lock: other
    connections (a running server) see either the old or the new database, never a mix, and
    SQLite's WAL files stay consistent (swapping the file underneath them would not).
    """
    target = Path(settings.DATABASES["default"]["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    dest = sqlite3.connect(target, timeout=30)
    try:
        source.backup(dest)
    except sqlite3.Error as exc:
        raise CommandError(f"restoring {target} failed, it is unchanged ({exc})") from exc
    finally:
        dest.close()
        source.close()


def restore_postgresql(dump: Path) -> None:
    """Replace the database with the dump in one transaction: drop the public schema, then run the dump's SQL.

    (pg_restore --clean cannot drop the primary keys of partitions, such as the monthly telemetry tables,
    before their parent's, so the dump is replayed into an empty schema instead.) If anything fails, psql
    rolls the transaction back and the database is unchanged."""
    db = settings.DATABASES["default"]
    args, env = pg_connection_args(db)
    script = subprocess.Popen(
        [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "-f", "-", str(dump)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    psql = subprocess.Popen(
        [pg_tool("psql"), "-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1", *args, "-d", db["NAME"]],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert script.stdout is not None and psql.stdin is not None
    try:
        psql.stdin.write(b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n")
        while chunk := script.stdout.read(1 << 20):
            psql.stdin.write(chunk)
    except BrokenPipeError:
        pass  # psql stopped at an error; its message says why
    script_err = script.stderr.read().decode() if script.stderr else ""
    if script.wait() != 0:
        psql.kill()  # before its input ends, so that it never commits a partial script
        psql.wait()
        raise CommandError(f"pg_restore failed, the database is unchanged: {script_err.strip()}")
    try:
        psql.stdin.close()
    except BrokenPipeError:
        pass
    psql_err = psql.stderr.read().decode() if psql.stderr else ""
    if psql.wait() != 0:
        raise CommandError(f"restoring the dump failed, the database is unchanged: {psql_err.strip()}")


def restore_media(packed: Path) -> None:
    media = Path(settings.MEDIA_ROOT)
    media.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".media-restore-", dir=media.parent))
    with tarfile.open(packed, "r:gz") as tar:
        tar.extractall(fresh, filter="data")
    old = media.parent / f".media-before-restore-{timezone.now().strftime('%Y%m%d%H%M%S%f')}"
    if media.exists():
        os.replace(media, old)
    os.replace(fresh, media)
    shutil.rmtree(old, ignore_errors=True)


class Command(BaseCommand):
    help = "Restore a backup archive made by `manage.py backup` (database and media), then verify the audit chain."

    def add_arguments(self, parser):
        parser.add_argument("archive", help="path to a linli-backup-*.tar file")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, archive: str, yes: bool, **options):
        from linli.core.audit import verify_chain

        path = Path(archive)
        vendor = connection.vendor
        scratch = path.parent if path.parent.is_dir() and os.access(path.parent, os.W_OK) else None
        with tempfile.TemporaryDirectory(prefix=".linli-restore-", dir=scratch) as tmp:
            work = Path(tmp)
            manifest = unpack(path, work)
            source_vendor = manifest["database"]["vendor"]
            if source_vendor != vendor:
                raise CommandError(
                    f"this backup holds a {source_vendor} database but Linli is configured for "
                    f"{vendor}; restore it into a {source_vendor} database"
                )
            db_part = work / DATABASE_PART[vendor]
            if vendor == "sqlite":
                check_sqlite_copy(db_part)
            self.stdout.write(
                f"Archive OK: made {manifest.get('created_at')} by Linli "
                f"{manifest.get('linli_version')}, {manifest['audit']['records']} audit records."
            )

            target = settings.DATABASES["default"]["NAME"]
            if not yes and not self.confirm(
                f"Replace the database {target} and the media directory "
                f"{settings.MEDIA_ROOT} with this backup? [yes/no] "
            ):
                raise CommandError("restore cancelled; nothing was changed")

            connections.close_all()
            if vendor == "sqlite":
                restore_sqlite(db_part)
            else:
                restore_postgresql(db_part)
            self.stdout.write("Database restored.")
            restore_media(work / MEDIA)
            self.stdout.write(f"Media restored ({manifest.get('media_files', 0)} files).")

        connections.close_all()
        if applied_migrations() != manifest.get("migrations"):
            self.stdout.write(
                self.style.WARNING("The backup's migration state differs from this code: run `manage.py migrate`.")
            )
        report = verify_chain()
        if not report.ok:
            broken = report.first_broken
            raise CommandError(
                f"Restored, but the audit chain is broken at record #{broken.seq if broken else '?'}: {report.reason}"
            )
        expected = manifest["audit"]["records"]
        if report.checked < expected:
            raise CommandError(
                f"Restored, but the audit chain holds {report.checked} records where the backup "
                f"recorded at least {expected}"
            )
        self.stdout.write(self.style.SUCCESS(f"Restore complete; the audit chain verifies ({report.checked} records)."))

    def confirm(self, question: str) -> bool:
        try:
            return input(question).strip().lower() in ("y", "yes")
        except EOFError:
            return False
