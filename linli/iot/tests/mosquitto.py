"""A real Mosquitto broker for tests, started on a free loopback port with persistence in a temp directory,
and a consumer (`manage.py mqtt_ingest`) run as a subprocess against a database it can reach."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.db import connection

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "max_inflight_messages 1000\n"
            "max_queued_messages 100000\n"
            "log_dest stderr\n" + (f"user {getpass.getuser()}\n" if os.geteuid() == 0 else "")
            # as root, mosquitto would switch to the mosquitto user, who cannot write the test's temp directory
        )
        self.conf = conf

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # a clean stop writes the persistence file
            self.proc.wait(5)
        self.proc = None


class TestDatabase:
    __test__ = False

    """The committed test database as a subprocess sees it: PostgreSQL's test database, or a file copy of
    SQLite's in-memory one (VACUUM INTO); `scalar(sql)` reads it back."""

    def __init__(self, workdir: Path):
        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            self.path = workdir / "db.sqlite3"
            with connection.cursor() as cur:
                cur.execute(f"VACUUM INTO '{self.path}'")
            self.url = f"sqlite:///{self.path}"
        else:
            s = connection.settings_dict
            self.url = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"

    def scalar(self, sql: str, params=()):
        if self.vendor == "sqlite":
            con = sqlite3.connect(self.path, timeout=5)
            try:
                return con.execute(sql, params).fetchone()[0]
            finally:
                con.close()
        with connection.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return cur.fetchone()[0]


class ConsumerProcess:
    """`manage.py mqtt_ingest` in a subprocess; `wait_subscribed()` blocks until it has subscribed."""

    def __init__(self, url: str, db: TestDatabase, batch: int = 50):
        env = {**os.environ, "LINLI_MODE": "test", "DATABASE_URL": db.url, "LINLI_LOG_LEVEL": "INFO"}
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "mqtt_ingest", "--url", url, "--batch", str(batch)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.subscriptions = 0
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line)
                if "MQTT subscribed" in line:
                    self.subscriptions += 1
                self._cond.notify_all()

    def wait_subscribed(self, times: int = 1, timeout: float = 15) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: self.subscriptions >= times or self.proc.poll() is not None, timeout)
        if not ok or self.subscriptions < times:
            raise RuntimeError("consumer did not subscribe:\n" + "".join(self.lines[-30:]))

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
