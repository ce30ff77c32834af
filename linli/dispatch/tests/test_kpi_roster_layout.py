"""The KPI page and the roster as people read them: the chart's words come translated through the page's data
attributes (no bare "min"); on a phone the KPI rows and the handovers show as cards (labels for the KPI cards
are CSS strings the page defines, translated); the tiles share one row on a desk."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.dispatch import roster
from linli.dispatch.models import Crew, Rescuer

pytestmark = pytest.mark.django_db

KPI = reverse("shifts:kpi")
ROSTER = reverse("shifts:roster")


def _english(world, *names: str) -> None:
    for name in names:
        type(world.users[name]).objects.filter(pk=world.users[name].pk).update(language="en")


def test_kpi_chart_words_come_translated_from_data_attributes(world, client_for):
    _english(world, "shift_lead")
    r = client_for("shift_lead").get(KPI)
    assert r.status_code == 200
    body = r.content.decode()
    scene = re.search(r'<div id="chart-scene"[^>]*>', body)[0]
    assert 'data-unit="minutes"' in scene and 'data-mean="mean"' in scene and 'data-reference="Within 18 min"' in scene
    volume = re.search(r'<div id="chart-volume"[^>]*>', body)[0]
    assert 'data-within="share on scene within 18 min"' in volume and 'data-alarms="alarms"' in volume
    script = body[body.index('getElementById("kpi-chart")') :]
    assert '"min"' not in script and ' min"' not in script and "name: L.unit" in script


def test_kpi_chart_words_follow_the_users_language(world, client_for):
    body = client_for("shift_lead").get(KPI).content.decode()  # zh-hans
    scene = re.search(r'<div id="chart-scene"[^>]*>', body)[0]
    assert 'data-mean="平均"' in scene and 'data-reference="18 分钟内"' in scene


def test_kpi_rows_carry_the_card_labels_and_the_tiles_their_class(world, client_for):
    _english(world, "shift_lead")
    body = client_for("shift_lead").get(KPI).content.decode()
    assert 'class="cards kpi-cards"' in body and body.count('class="stat') == 7
    assert 'class="list kpi kpi-rows"' in body
    assert '--kpi-alarms: "Alarms received"' in body and '--kpi-within: "Within 18 min"' in body
    assert '--kpi-ack: "Time to acknowledge"' in body and '--kpi-false: "False-alarm rate"' in body


def test_kpi_card_labels_cannot_leave_their_css_string(world, client_for, monkeypatch):
    """A translation with a quote or a tag stays inside the CSS string and the <style> element."""
    from django.utils import translation

    real = translation._trans.gettext

    def odd(message):
        return 'Alarms "</style><script>x()</script>\\' if message == "Alarms received" else real(message)

    monkeypatch.setattr(translation._trans, "gettext", odd)
    body = client_for("shift_lead").get(KPI).content.decode()
    line = body[body.index("--kpi-alarms:") : body.index("--kpi-incidents:")]
    assert "Alarms" in line
    assert "</style>" not in line and "<script>" not in line and "\\" not in line
    assert line.count('"') == 2 and "&quot;" in line  # the string's own quotes only


def test_kpi_page_is_for_dispatch_leads_only(world, client_for):
    assert client_for("rescuer").get(KPI).status_code == 403
    assert client_for("resident").get(KPI).status_code == 403


@pytest.fixture
def center(world):
    a, u = world.areas["A"], world.users
    for c in "ABC":
        Crew.objects.create(area=a, name=f"Crew {c}")
    roster.make_roster(a, timezone.localdate() - dt.timedelta(days=1), 3)
    current = roster.on_duty(a, timezone.now())
    nxt = roster.next_shift(current)
    current.crew.members.add(u["dispatcher"])
    Rescuer.objects.create(user=u["rescuer"], area=a, crew=nxt.crew)
    return current


def test_handovers_show_as_cards_too_with_the_receive_button(world, center, client_for):
    _english(world, "dispatcher", "shift_lead")
    note = "救援员2仍在新华里3-101。"
    roster.write_handover(center, note=note, user=world.users["dispatcher"], now=timezone.now())
    page = client_for("shift_lead").get(ROSTER).content.decode()
    cards = page[page.index('id="handover-cards"') :]
    cards = cards[: cards.index("</ul>")]
    assert 'class="table-wrap dev-table"' in page  # the table hides on a phone, the cards show
    assert note in cards and "Open incidents" in cards and "Mark received" in cards
    # the author cannot receive their own handover: the card says it waits
    own = client_for("dispatcher").get(ROSTER).content.decode()
    own_cards = own[own.index('id="handover-cards"') :]
    assert "Not yet received" in own_cards[: own_cards.index("</ul>")]
    # the other street sees none of it
    assert note not in client_for("dispatcher_b").get(ROSTER).content.decode()


def test_no_handovers_card_list_says_so(world, center, client_for):
    _english(world, "shift_lead")
    page = client_for("shift_lead").get(ROSTER).content.decode()
    cards = page[page.index('id="handover-cards"') :]
    assert "No handovers yet." in cards[: cards.index("</ul>")]
