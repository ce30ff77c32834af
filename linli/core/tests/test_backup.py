"""manage.py backup / restore, run as real commands in subprocesses against a database of their own.

SQLite always runs (a file under tmp). The PostgreSQL variant runs when the suite itself runs on
PostgreSQL (bin/with-postgres): it creates a scratch database on the same server and exercises
pg_dump / pg_restore.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

MANAGE = str(settings.BASE_DIR / "manage.py")

SNAPSHOT = """
import json
from linli.core.audit import verify_chain
from linli.core.models import AuditRecord
from linli.people.models import Resident
report = verify_chain()
print(json.dumps({"names": sorted(Resident.objects.values_list("name", flat=True)),
                  "audit": AuditRecord.objects.count(), "chain_ok": report.ok}))
"""

CHANGE = """
from linli.core import audit
from linli.people.models import Resident
r = Resident.objects.order_by("pk").first()
Resident.objects.filter(pk=r.pk).update(name="改过的名字")
audit.record("update", r, before={"name": r.name}, after={"name": "改过的名字"}, username="test")
"""


class Site:
    """One Linli installation: a database URL and a media directory, driven through manage.py."""

    def __init__(self, database_url: str, root: Path):
        self.root = root
        self.media = root / "media"
        self.env = dict(
            os.environ,
            LINLI_MODE="test",
            DATABASE_URL=database_url,
            LINLI_MEDIA_ROOT=str(self.media),
            LINLI_VAR_DIR=str(root / "var"),
            DJANGO_SETTINGS_MODULE="linli.settings",
        )

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, MANAGE, *args],
            env=self.env,
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def script(self, code: str) -> str:
        body = "import django\ndjango.setup()\n" + code
        result = subprocess.run(
            [sys.executable, "-c", body],
            env=self.env,
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def snapshot(self) -> dict:
        return json.loads(self.script(SNAPSHOT).strip().splitlines()[-1])

    def build(self) -> None:
        self.manage("migrate", "-v0")
        self.script("from linli.testing.world import build_world\nbuild_world()")
        (self.media / "uploads").mkdir(parents=True, exist_ok=True)
        (self.media / "uploads" / "plan.txt").write_text("楼栋平面图 v1", encoding="utf-8")

    def backup(self) -> Path:
        out = self.root / "backups"
        result = self.manage("backup", "--output", str(out))
        assert "Backup written" in result.stdout
        (archive,) = out.glob("linli-backup-*.tar")
        return archive


def roundtrip(site: Site) -> None:
    site.build()
    before = site.snapshot()
    assert before["chain_ok"] and before["audit"] > 0
    archive = site.backup()

    site.script(CHANGE)
    (site.media / "uploads" / "plan.txt").write_text("changed", encoding="utf-8")
    (site.media / "stray.txt").write_text("not in the backup", encoding="utf-8")
    changed = site.snapshot()
    assert changed != before and "改过的名字" in changed["names"]

    result = site.manage("restore", str(archive), "--yes")
    assert "the audit chain verifies" in result.stdout
    assert site.snapshot() == before
    assert (site.media / "uploads" / "plan.txt").read_text(encoding="utf-8") == "楼栋平面图 v1"
    assert not (site.media / "stray.txt").exists()


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory) -> tuple[Site, Path, dict]:
    """A site that made a backup, was restored from it, then changed again: a bad restore must keep it so."""
    root = tmp_path_factory.mktemp("site")
    site = Site(f"sqlite:///{root / 'linli.sqlite3'}", root)
    roundtrip(site)
    (archive,) = (root / "backups").glob("*.tar")
    changed = json.loads(site.script(CHANGE + SNAPSHOT).strip().splitlines()[-1])
    assert "改过的名字" in changed["names"]
    return site, archive, changed


def test_sqlite_backup_and_restore_bring_data_media_and_audit_back(sqlite_site):
    site, archive, _ = sqlite_site
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["database.sqlite3", "manifest.json", "media.tar.gz"]
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["database"]["vendor"] == "sqlite"
    assert "0001_initial" in manifest["migrations"]["core"]
    assert set(manifest["parts"]) == {"database.sqlite3", "media.tar.gz"}
    assert all(len(p["sha256"]) == 64 for p in manifest["parts"].values())
    assert oct(archive.stat().st_mode & 0o777) == "0o600"


def rewrite(archive: Path, target: Path, edit, renames: dict[str, str] | None = None) -> Path:
    """Copy the archive with members' bytes changed by edit(name, data) -> data, and renamed."""
    with tarfile.open(archive) as src, tarfile.open(target, "w") as dst:
        for member in src.getmembers():
            fh = src.extractfile(member)
            assert fh is not None
            data = edit(member.name, fh.read())
            member.size = len(data)
            member.name = (renames or {}).get(member.name, member.name)
            dst.addfile(member, io.BytesIO(data))
    return target


def flip_database_byte(name: str, data: bytes) -> bytes:
    if name.startswith("database"):
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    return data


def claim_postgresql(name: str, data: bytes) -> bytes:
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["database"] = {"vendor": "postgresql", "part": "database.pgdump"}
        manifest["parts"]["database.pgdump"] = manifest["parts"].pop("database.sqlite3")
        return json.dumps(manifest).encode()
    return data


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        (lambda a, t: rewrite(a, t, flip_database_byte), "does not match its checksum"),
        (lambda a, t: t.write_bytes(a.read_bytes()[: a.stat().st_size // 2]) and t, "damaged or not a backup"),
        (lambda a, t: t.write_bytes(b"not a tar at all") and t, "damaged or not a backup archive"),
        (lambda a, t: t.parent / "no-such-backup.tar", "backup archive not found"),
        (lambda a, t: rewrite(a, t, lambda n, d: b"{" if n == "manifest.json" else d), "manifest"),
        (lambda a, t: rewrite(a, t, lambda n, d: d, {"media.tar.gz": "../media.tar.gz"}), "unexpected entries"),
    ],
    ids=["flipped-byte", "truncated", "not-a-tar", "missing", "bad-manifest", "path-outside"],
)
def test_restore_names_what_is_wrong_with_a_bad_archive(sqlite_site, tmp_path, make_bad, message):
    # Fails while checking the archive, before any database access, so it can run in-process.
    _, archive, _ = sqlite_site
    bad = make_bad(archive, tmp_path / "bad.tar")
    with pytest.raises(CommandError, match=message):
        call_command("restore", str(bad), "--yes")


def test_a_corrupt_archive_changes_nothing(sqlite_site, tmp_path):
    site, archive, before = sqlite_site
    bad = rewrite(archive, tmp_path / "bad.tar", flip_database_byte)

    result = site.manage("restore", str(bad), "--yes", check=False)

    assert result.returncode != 0
    assert "database.sqlite3 does not match its checksum: the archive is corrupt" in result.stderr
    assert "Traceback" not in result.stderr
    assert site.snapshot() == before
    assert (site.media / "uploads" / "plan.txt").read_text(encoding="utf-8") == "楼栋平面图 v1"


def test_restore_refuses_a_backup_from_another_database_vendor(sqlite_site, tmp_path):
    site, archive, before = sqlite_site
    bad = rewrite(archive, tmp_path / "pg.tar", claim_postgresql, {"database.sqlite3": "database.pgdump"})
    result = site.manage("restore", str(bad), "--yes", check=False)
    assert result.returncode != 0
    assert "holds a postgresql database but Linli is configured for sqlite" in result.stderr
    assert site.snapshot() == before


def test_restore_without_yes_asks_and_a_closed_stdin_cancels(sqlite_site):
    site, archive, before = sqlite_site
    result = site.manage("restore", str(archive), check=False)
    assert result.returncode != 0
    assert "restore cancelled; nothing was changed" in result.stderr
    assert site.snapshot() == before


@pytest.fixture
def postgres_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("PostgreSQL variant: the suite is running on SQLite (run it under bin/with-postgres)")
    import psycopg

    name = f"linli_backup_{uuid.uuid4().hex[:8]}"
    admin = urlparse(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield urlparse(url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgresql_backup_and_restore_with_pg_dump(postgres_url, tmp_path):
    site = Site(postgres_url, tmp_path)
    roundtrip(site)
    (archive,) = (tmp_path / "backups").glob("*.tar")
    with tarfile.open(archive) as tar:
        assert "database.pgdump" in tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["database"]["vendor"] == "postgresql"
    # the append-only trigger came back with the tables
    out = site.script(
        "from django.db import connection\nwith connection.cursor() as c:\n"
        "    c.execute(\"SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'core_auditrecord%'\")\n"
        "    print(c.fetchone()[0])"
    )
    assert out.strip() == "2"
    # so did the monthly telemetry partitions (which pg_restore --clean could not drop)
    out = site.script(
        "from django.db import connection\nwith connection.cursor() as c:\n"
        "    c.execute(\"SELECT count(*) FROM pg_inherits WHERE inhparent = 'iot_telemetry'::regclass\")\n"
        "    print(c.fetchone()[0])"
    )
    assert int(out.strip()) >= 3
