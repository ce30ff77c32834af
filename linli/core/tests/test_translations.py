"""zh-hans first, English complete: every msgid in the code has a Chinese translation,
and the compiled catalogue that ships is the one the .po file describes."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PO = ROOT / "linli" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry; plural forms folded into msgstr."""
    out = []
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block or ", fuzzy" in block
        msgid = (
            "".join(re.findall(r'"(.*)"', block.split("msgid ", 1)[1].split("\nmsg", 1)[0]))
            if "msgid " in block
            else None
        )
        strs = re.findall(r'msgstr(?:\[\d\])? ((?:".*"\n?)+)', block + "\n")
        msgstr = "|".join("".join(re.findall(r'"(.*)"', s)) for s in strs)
        if msgid is not None and not block.lstrip().startswith("#~"):
            out.append((msgid, msgstr, fuzzy))
    return out


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} (Debian package gettext) is required in CI")
        pytest.skip(f"{tool} not installed (apt-get install gettext)")


def test_every_entry_is_translated():
    bad = [m for m, s, fuzzy in entries(PO.read_text()) if m and (fuzzy or not s.replace("|", "").strip())]
    assert bad == [], f"{len(bad)} untranslated or fuzzy entries, e.g. {bad[:5]}"


def test_catalogue_covers_every_string_in_the_code(tmp_path):
    need("xgettext")
    copy = tmp_path / "linli"
    shutil.copytree(ROOT / "linli", copy, ignore=shutil.ignore_patterns("vendor", "__pycache__", "*.mo"))
    (copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").unlink()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="linli.settings", PYTHONPATH=str(tmp_path))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = {m for m, _, _ in entries((copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text()) if m}
    shipped = {m for m, _, _ in entries(PO.read_text()) if m}
    missing = sorted(fresh - shipped)
    assert missing == [], f"run `make messages` and translate: {len(missing)} new strings, e.g. {missing[:5]}"


def test_compiled_catalogue_is_current(tmp_path):
    need("msgfmt")
    out = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(out), str(PO)], check=True)
    assert out.read_bytes() == MO.read_bytes(), "run `make messages` to recompile django.mo"
