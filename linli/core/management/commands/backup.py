"""manage.py backup [--output DIR]: one timestamped archive of the database and the media files.

The archive is a plain tar holding:

    manifest.json        version, time, database vendor, applied migrations, audit chain head,
                         and the sha256 and size of every other part
    database.sqlite3     SQLite: a consistent copy made with the online backup API
    database.pgdump      PostgreSQL: `pg_dump -Fc` (custom format, already compressed)
    media.tar.gz         the media directory (uploads)

`manage.py restore ARCHIVE` checks it all before touching anything.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import tomllib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media.tar.gz"
DATABASE_PART = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def linli_version() -> str:
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as fh:
            return tomllib.load(fh)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def pg_tool(name: str) -> str:
    """The newest installed PostgreSQL client binary (as bin/with-postgres finds the server)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise CommandError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")


def pg_connection_args(db: dict) -> tuple[list[str], dict[str, str]]:
    """Command-line arguments and environment for pg_dump/pg_restore from a DATABASES entry."""
    args = []
    if db.get("HOST"):
        args += ["-h", db["HOST"]]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]  # never on the command line, where `ps` would show it
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = sslmode
    return args, env


def applied_migrations() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        out.setdefault(app, []).append(name)
    return out


def audit_head() -> dict:
    from linli.core.models import AuditChainHead, AuditRecord

    head = AuditChainHead.objects.filter(pk=1).first()
    return {
        "records": AuditRecord.objects.count(),
        "last_seq": head.last_seq if head else 0,
        "last_hash": head.last_hash if head else "0" * 64,
    }


def dump_sqlite(target: Path) -> None:
    source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)  # a consistent snapshot even while the server is writing
    finally:
        copy.close()
        source.close()


def dump_postgresql(target: Path) -> None:
    db = settings.DATABASES["default"]
    args, env = pg_connection_args(db)
    cmd = [pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(target), *args, db["NAME"]]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise CommandError(f"pg_dump failed: {result.stderr.strip()}")


def pack_media(target: Path) -> int:
    media = Path(settings.MEDIA_ROOT)
    count = 0
    with tarfile.open(target, "w:gz") as tar:
        if media.is_dir():
            for path in sorted(media.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=str(path.relative_to(media)), recursive=False)
                    count += 1
    return count


class Command(BaseCommand):
    help = "Write a timestamped backup archive: database, media files and a manifest with checksums."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            default=str(Path(settings.VAR_DIR) / "backups"),
            help="directory for the archive (default: var/backups)",
        )

    def handle(self, *args, output: str, **options):
        vendor = connection.vendor
        if vendor not in DATABASE_PART:
            raise CommandError(f"backup does not support the {vendor} database")
        out_dir = Path(output)
        out_dir.mkdir(parents=True, exist_ok=True)
        now = timezone.now()
        name = f"linli-backup-{now.strftime('%Y%m%d-%H%M%S')}"
        archive = out_dir / f"{name}.tar"
        if archive.exists():
            raise CommandError(f"{archive} already exists; try again in a second")

        with tempfile.TemporaryDirectory(prefix=".linli-backup-", dir=out_dir) as tmp:
            work = Path(tmp)
            db_part = DATABASE_PART[vendor]
            # Read before dumping: the dump holds at least these records (restore checks it).
            audit = audit_head()
            self.stdout.write(f"Dumping the {vendor} database…")
            (dump_sqlite if vendor == "sqlite" else dump_postgresql)(work / db_part)
            media_files = pack_media(work / MEDIA)
            manifest = {
                "format": FORMAT,
                "linli_version": linli_version(),
                "created_at": now.isoformat(),
                "database": {"vendor": vendor, "part": db_part},
                "migrations": applied_migrations(),
                "audit": audit,
                "media_files": media_files,
                "parts": {
                    part: {"sha256": sha256_of(work / part), "bytes": (work / part).stat().st_size}
                    for part in (db_part, MEDIA)
                },
            }
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
            partial = out_dir / f".{name}.tar.partial"
            # Personal data: readable by the owner only, from the first byte.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
                for part in (MANIFEST, db_part, MEDIA):
                    tar.add(work / part, arcname=part)
            os.replace(partial, archive)

        size = archive.stat().st_size
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {archive} ({size:,} bytes; {audit['records']} audit records, "
                f"{media_files} media files)"
            )
        )
        return None
