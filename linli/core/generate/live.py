"""Cases happening now in the demo: reports waiting on the dispatch desk, cases being handled, one waiting
for the resident's rating, one returned, a few due soon or overdue.

Made through the real actions (`linli.cases.services`) by the demo accounts, so each has its suggestion,
proposed unit, clock, timeline, audit records and notifications; then the deadline sweep runs once. Texts
come from the classifier's training corpus (real-sounding reports; the held-out set is never used).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from linli.accounts.models import User
from linli.cases import services, sweep
from linli.cases.models import CaseEvent, Channel, HandlingUnit, WorkOrder
from linli.places.models import Area, House

CORPUS = Path(__file__).resolve().parents[2] / "cases" / "classifier" / "data" / "train.jsonl"
CALLERS = ["王先生", "李阿姨", "张大爷", "刘女士", "陈师傅", "赵先生"]


def _texts(n: int, rng: random.Random) -> list[str]:
    lines = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rng.sample(lines, n)


def _backdate(case: WorkOrder, days: float) -> None:
    """Move a case's report and clock back in time, as if it had been waiting that long."""
    delta = dt.timedelta(days=days)
    WorkOrder.objects.filter(pk=case.pk).update(
        submitted_at=F("submitted_at") - delta,
        response_due=F("response_due") - delta,
        resolve_due=F("resolve_due") - delta,
        warn_at=F("warn_at") - delta,
    )
    CaseEvent.objects.filter(work_order=case).update(at=F("at") - delta)


@transaction.atomic
def open_demo_cases(street: Area, seed: int = 7) -> int:
    """Open the live cases once (they are recognised by their external reference). Returns how many."""
    if WorkOrder.objects.filter(street=street, external_ref__startswith="demo:").exists():
        return 0
    rng = random.Random(seed)
    users = {u.username: u for u in User.objects.filter(username__in=["resident", "community", "grid", "street"])}
    community = Area.objects.filter(level="community", street=street).order_by("code").first()
    if community is None or len(users) < 4:
        return 0
    home_unit = HandlingUnit.objects.filter(code=f"c-{community.code}").first()
    houses = list(House.objects.filter(community=community).select_related("grid", "building").order_by("code")[:400])
    me = getattr(users["resident"], "resident", None)
    resident_home = me.household.house if me is not None and me.household is not None else None
    texts = _texts(24, rng)
    made: list[WorkOrder] = []
    for i, text in enumerate(texts):
        house = rng.choice(houses)
        if i < 3 and resident_home is not None:
            actor, channel, loc = users["resident"], Channel.RESIDENT, services.locate_house(resident_home)
            extra: dict[str, str] = {}
        elif i % 3 == 0:
            actor, channel, loc = users["grid"], Channel.GRID, services.locate_house(house)
            extra = {}
        else:
            actor, channel, loc = users["community"], Channel.HOTLINE, services.locate_house(house)
            extra = {"caller_name": rng.choice(CALLERS), "caller_phone": f"139{rng.randrange(10**8):08d}"}
        report = services.Report(
            title=text[:24],
            description=text,
            channel=channel,
            location=loc,
            external_ref=f"demo:{i}",
            caller_name=extra.get("caller_name", ""),
            caller_phone=extra.get("caller_phone", ""),
        )
        made.append(services.create_case(actor, report))

    community_user, grid = users["community"], users["grid"]

    def act(case, actor, action, **kw):
        return services.act(actor, case.pk, action, **kw)

    # 0: the resident's case, handled and waiting for the rating; 1: being handled; 2: still new
    for i in [0, 1, *range(3, 12)]:
        unit = home_unit if home_unit is not None else made[i].proposed_unit
        if unit is not None:
            made[i] = act(made[i], community_user, "dispatch", unit=unit)
    for case in [made[0], made[1], *made[3:8]]:
        if case.lead_unit_id == getattr(home_unit, "pk", None):
            act(case, grid, "start")
    act(made[0], grid, "resolve", note="已到现场处理完毕，并向居民说明情况。")
    act(made[3], grid, "progress", note="已联系相关单位，约定明天上午到场。")
    act(made[4], grid, "return", note="经现场核实不属于社区职责范围，请改派相关部门。")
    act(made[5], grid, "escalate", note="涉及多个部门，需要街道协调。")
    # time has passed for some: one overdue, two due soon
    _backdate(made[6], 9)
    _backdate(made[7], 4)
    _backdate(made[9], 4.5)
    _backdate(made[12], 1)
    sweep.sweep(timezone.now())
    return len(made)
