"""The dispatch center in a real browser: an SOS arrives live on the console, a dispatcher claims it, calls
back and dispatches the recommended rescuer; the rescuer, on a phone, accepts, reports on scene, hands over
to 120 and completes; the incident page shows the whole timestamp chain.

The server is the real ASGI stack (`manage.py runserver`, served by daphne) with a real Redis channel layer,
and the alarm is raised by another process, as the MQTT ingest worker does in production: its
alarm_changed receiver publishes through Redis to the server's console sockets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect
from steps import assert_fits_a_phone, sign_in

from conftest import free_port, wait_for_health

pytestmark = pytest.mark.browser

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"

SETUP = """
import django
django.setup()
from django.utils import timezone
from linli.accounts.models import User
from linli.dispatch.models import Rescuer
from linli.iot.models import Device
from linli.people.models import EmergencyContact
from linli.places.models import Area, House
from linli.testing.world import build_world

build_world()
street = Area.objects.get(level="street", name="劝业场街道")
Rescuer.objects.create(user=User.objects.get(username="rescuer"), area=street, status="available", travel="ebike",
                       lat=39.1262, lng=117.2061, position_at=timezone.now(), base_lat=39.1262, base_lng=117.2061)
house = House.objects.filter(grid__code="120101001001001").order_by("pk").first()
resident = house.occupancies.first().resident
contact = EmergencyContact(resident=resident, name="李小明", relation="儿子")
contact.phone = "13912345678"
contact.save()
device = Device(code="BR-0001", kind="bracelet", grid=house.grid, house=house, resident=resident, online=True)
device.copy_areas_from_grid()
device.save()
"""

RAISE = """
import django
django.setup()
from django.db import transaction
from django.utils import timezone
from linli.iot.models import Alarm, Device
from linli.iot.signals import alarms_changed

device = Device.objects.get(code="BR-0001")
now = timezone.now()
with transaction.atomic():
    alarm = Alarm.objects.create(
        device=device, type="sos", severity="critical", life_safety=True, resident=device.resident,
        house=device.house, grid_id=device.grid_id, community_id=device.community_id, street_id=device.street_id,
        district_id=device.district_id, city_id=device.city_id, lat=39.1250, lng=117.2050, raised_at=now,
        last_at=now, message="SOS",
    )
    alarms_changed([alarm.pk], "raised")
print(alarm.pk)
"""


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def dispatch_site(tmp_path_factory):
    """(base URL, env) of a Linli on ASGI with a Redis channel layer, the test world, a rescuer and a bracelet."""
    if not os.path.exists(REDIS):
        pytest.skip("redis-server is missing (apt-get install redis-server; .ci/run does)")
    root = tmp_path_factory.mktemp("dispatch-site")
    redis_port = free_port()
    redis = subprocess.Popen(
        [REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = dict(
        os.environ,
        LINLI_MODE="test",
        DATABASE_URL=f"sqlite:///{root / 'linli.sqlite3'}",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        LINLI_VAR_DIR=str(root / "var"),
        LINLI_MEDIA_ROOT=str(root / "media"),
        DJANGO_SETTINGS_MODULE="linli.settings",
        PYTHONUNBUFFERED="1",
    )
    base = Path(settings.BASE_DIR)
    server = None
    try:
        for cmd in ([sys.executable, "manage.py", "migrate", "-v0"], [sys.executable, "-c", SETUP]):
            done = subprocess.run(cmd, cwd=base, env=env, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{done.stdout}\n{done.stderr}")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = root / "server.log"
        with open(log, "w") as out:
            server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=base,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for_health(url, server, log)
        yield url, env
    finally:
        if server is not None:
            _stop(server)
        _stop(redis)


def raise_sos(env) -> int:
    """Raise an SOS from another process (like the ingest worker) and return the alarm's id."""
    done = subprocess.run(
        [sys.executable, "-c", RAISE], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def test_an_sos_goes_from_the_console_to_a_rescuer_at_the_door(browser, dispatch_site, shoot):
    url, env = dispatch_site
    desk = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    watch = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    watch.set_default_timeout(10_000)
    phone = browser.new_context(base_url=url, viewport={"width": 390, "height": 844}, locale="zh-CN")
    desk.set_default_timeout(10_000)
    phone.set_default_timeout(10_000)
    try:
        # 1. the dispatcher's console is live; sound is a toggle (browsers only play after a click)
        page = desk.new_page()
        sign_in(page, "dispatcher")
        page.goto("/dispatch/")
        expect(page.locator("#console")).to_have_attribute("data-live", "on")
        page.click("#sound-toggle")
        expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")
        # a second call-taker (the shift lead) watches the same street
        other = watch.new_page()
        sign_in(other, "shift_lead")
        other.goto("/dispatch/")
        expect(other.locator("#console")).to_have_attribute("data-live", "on")

        # 2. an SOS raised by another process appears without a reload, flashing, at the top
        start = time.monotonic()
        alarm_id = raise_sos(env)
        row = page.locator(f"#alarm-{alarm_id}")
        expect(row).to_be_visible(timeout=5_000)
        arrived = time.monotonic() - start
        expect(row).to_have_class(re.compile(r"\bflash\b"))
        expect(page.locator("#n-waiting")).to_have_text("1")
        expect(page.locator("#console-map .alarm-marker")).to_have_count(1)
        # no tile server here: the street's grids are drawn under the alarm, so that the dot has a place
        expect(page.locator("#console-map .grid-outline").first).to_be_attached()
        shoot(page, "dispatch-console")
        print(f"alarm on the console {arrived:.2f} s after the raising process started")

        expect(other.locator(f"#alarm-{alarm_id} button.claim")).to_be_visible()

        # 3. claim it: the other console shows at once who took it;
        # the incident page shows the person, living alone, masked contacts and the map
        row.locator("button.claim").click()
        expect(page).to_have_url(re.compile(r"/dispatch/incidents/\d+/$"))
        incident_url = page.url
        expect(other.locator(f"#alarm-{alarm_id} .taken")).to_contain_text("dispatcher")
        expect(other.locator(f"#alarm-{alarm_id} button.claim")).to_have_count(0)
        expect(page.locator("#living-alone")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("13912345678")
        expect(page.locator("#incident-map")).to_be_visible()

        # the rescuer's phone page is open, waiting, and live
        mobile = phone.new_page()
        sign_in(mobile, "rescuer")
        mobile.goto("/dispatch/rescue/")
        expect(mobile.locator("#no-incident")).to_be_visible()
        expect(mobile.locator("#rescue")).to_have_attribute("data-live", "on")
        expect(page.locator("#incident")).to_have_attribute("data-live", "on")

        # 4. call back: needs help; 5. dispatch the recommended rescuer
        page.select_option("#cb-outcome", "needs_help")
        page.fill("#cb-note", "摔倒了，起不来")
        page.locator("#act-callback button").click()
        expect(page.locator(".messages li.success")).to_be_visible()
        expect(page.locator("#recommended")).to_contain_text("rescuer")
        page.locator("#act-dispatch button").click()
        expect(page.locator("#rescuer-name")).to_contain_text("rescuer")
        shoot(page, "dispatch-incident")

        # 6. the rescuer's open page shows the incident without a reload, with the place and call buttons
        expect(mobile.locator("#my-incident")).to_be_visible(timeout=5_000)
        expect(mobile.locator("#rescue")).to_have_attribute("data-updates", "1")
        expect(mobile.locator("#place")).to_contain_text("社区")
        expect(mobile.locator("#my-incident")).not_to_contain_text("13912345678")
        mobile.locator("#calls li", has_text="李小明").locator("button.call").click()
        expect(mobile.locator("#calls a[href='tel:13912345678']")).to_be_visible()
        assert_fits_a_phone(mobile)
        shoot(mobile, "dispatch-rescue")

        # 7. the rescuer accepts, goes on scene, hands over to 120 and completes; the dispatcher's page follows
        mobile.click("#accept")
        expect(page.locator("#incident-status")).to_have_text("救援员在途", timeout=5_000)
        mobile.click("#on-scene")
        expect(page.locator("#incident-status")).to_have_text("救援员已到场", timeout=5_000)
        expect(page.locator("#chain li.pending")).to_have_count(2)  # handed over, closed
        mobile.select_option("#h-to", "120")
        mobile.click("#handover")
        mobile.fill("#outcome", "已交120送医")
        mobile.click("#complete")
        expect(mobile.locator("#no-incident")).to_be_visible()

        # 8. the incident shows the whole timestamp chain; the alarm has left the console
        page.goto(incident_url)
        expect(page.locator("#chain li")).to_have_count(8)
        expect(page.locator("#chain li.pending")).to_have_count(0)
        shoot(page, "dispatch-incident-done")
        page.goto("/dispatch/")
        expect(page.locator(f"#alarm-{alarm_id}")).to_have_count(0)
    finally:
        desk.close()
        watch.close()
        phone.close()
