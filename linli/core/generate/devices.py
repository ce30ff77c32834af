"""Demo devices and the dispatch center's people for the demo street.

Devices ("six-piece set" in the homes of elderly residents living alone, as in Shijingshan's center):
every home of a resident labelled living alone (独居) gets an emergency call button, a smoke and a gas
detector and a water meter; about half of them a Beidou bracelet and an abnormal-state (motion) sensor;
one home in three a home gateway with a water-leak sensor behind it (and its smoke and gas detectors talk
through the gateway too). Each estate gets two AI cameras at its gates. Devices start online with recent
heartbeats, a few with low batteries, a few offline.

Dispatch: the street's three crews (三班三运转) and the roster from yesterday to the day after tomorrow; nine
rescuers (users rescuer01…rescuer09, three per crew, demo password) and six call-takers (calltaker01…06, two
per crew, demo password) placed around the street. The demo accounts dispatcher, shift_lead and rescuer are
put on the crew on duty when the demo starts, so the console, the recommendation and the rescuer's phone
page work at any hour. Safe to run again: devices are made once per street, people are get-or-create.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from linli.accounts.models import Assignment, Role, User
from linli.iot.models import Device, DeviceKind
from linli.iot.rules import STATE_KEY
from linli.people.models import Occupancy
from linli.places.models import Area, Estate, House

RESCUERS_PER_CREW = 3
CALLTAKERS_PER_CREW = 2
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "志强", "海燕", "秀英", "红梅", "立新", "振华", "晓东", "桂兰", "国庆", "春生", "丽华"]


@dataclass
class DemoIot:
    devices: int = 0
    created: int = 0
    homes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    rescuers: int = 0
    crews: int = 0
    shifts_created: int = 0
    on_duty: str = ""


def ensure_demo_iot(street: Area, *, seed: int = 11, now: dt.datetime | None = None) -> DemoIot:
    """Devices, rules, crews, roster, rescuers and call-takers for the demo street (idempotent)."""
    from linli.iot.rules import ensure_default_rules

    now = now or timezone.now()
    out = DemoIot()
    ensure_default_rules()
    out.created, out.homes = ensure_demo_devices(street, seed=seed, now=now)
    qs = Device.objects.filter(street=street)
    out.devices = qs.count()
    out.by_kind = dict(sorted((k, qs.filter(kind=k).count()) for k in DeviceKind.values if qs.filter(kind=k).exists()))
    staff = ensure_demo_dispatch(street, seed=seed, now=now)
    out.rescuers, out.crews, out.shifts_created, out.on_duty = staff
    return out


def _center(area: Area) -> tuple[float, float]:
    return (area.lat or 39.12, area.lng or 117.20)


def _spot(rng: random.Random, lat: float, lng: float, spread: float = 0.0004) -> tuple[float, float]:
    return round(lat + rng.uniform(-spread, spread), 6), round(lng + rng.uniform(-spread, spread), 6)


@transaction.atomic
def ensure_demo_devices(street: Area, *, seed: int = 11, now: dt.datetime | None = None) -> tuple[int, int]:
    """The devices, once per street. Returns (devices created, homes equipped)."""
    if Device.objects.filter(street=street).exists():
        return 0, 0
    now = now or timezone.now()
    rng = random.Random(seed)
    homes = (
        Occupancy.objects.filter(street=street, resident__labels__code="living_alone", resident__status="active")
        .exclude(relation=Occupancy.Relation.REGISTERED_ELSEWHERE)
        .select_related("house__building", "house__grid", "resident")
        .order_by("house__code", "resident_id")
    )
    seen: set[int] = set()
    devices: list[Device] = []
    subs: list[tuple[Device, str]] = []  # (device, gateway code)
    for occ in homes:
        house = occ.house
        if house.pk in seen:
            continue
        seen.add(house.pk)
        resident = occ.resident
        building = house.building
        lat, lng = (building.lat, building.lng) if building.lat is not None else _center(house.grid)
        short = house.code[6:]
        gateway = None
        if len(seen) % 3 == 0:
            gateway = _device(house, f"GW-{short}", DeviceKind.GATEWAY, "家庭网关", "客厅", None, lat, lng, rng, now)
            devices.append(gateway)
        plan = [
            ("CB", DeviceKind.CALL_BUTTON, "紧急呼叫按钮", "床头", resident, False),
            ("SM", DeviceKind.SMOKE, "烟感", "厨房", None, True),
            ("GS", DeviceKind.GAS, "燃气报警器", "厨房", None, True),
            ("WM", DeviceKind.WATER_METER, "智能水表", "卫生间", resident, False),
        ]
        if rng.random() < 0.5:
            plan.append(("BR", DeviceKind.BRACELET, "北斗手环", "", resident, False))
        if rng.random() < 0.5:
            plan.append(("AB", DeviceKind.ABNORMAL, "人体感应", "卧室", resident, False))
        if gateway is not None:
            plan.append(("LK", DeviceKind.LEAK, "水浸传感器", "卫生间", None, True))
        for prefix, kind, name, where, who, behind in plan:
            d = _device(house, f"{prefix}-{short}", kind, name, where, who, lat, lng, rng, now)
            devices.append(d)
            if behind and gateway is not None:
                subs.append((d, gateway.code))
    for estate in Estate.objects.filter(street=street).order_by("code"):
        house = House.objects.filter(estate=estate).select_related("grid").order_by("code").first()
        if house is None:
            continue
        lat, lng = (estate.lat, estate.lng) if estate.lat is not None else _center(house.grid)
        for gate in (1, 2):
            cam = _device(
                house,
                f"CAM-{estate.code}-{gate}",
                DeviceKind.CAMERA,
                f"{gate}号门AI摄像头",
                "",
                None,
                lat,
                lng,
                rng,
                now,
            )
            cam.house = None
            cam.location = f"{estate.name} {gate}号门"
            devices.append(cam)
    Device.objects.bulk_create(devices, batch_size=500)
    by_code = {d.code: d for d in Device.objects.filter(street=street, kind=DeviceKind.GATEWAY)}
    for d, gw in subs:
        Device.objects.filter(code=d.code).update(gateway=by_code[gw])
    return len(devices), len(seen)


def _device(house: House, code, kind, name, where, resident, lat, lng, rng: random.Random, now) -> Device:
    grid = house.grid
    online = rng.random() > 0.03
    battery = rng.randint(10, 18) if rng.random() < 0.04 else rng.randint(45, 100)
    mains = kind in (DeviceKind.GATEWAY, DeviceKind.CAMERA, DeviceKind.WATER_METER, DeviceKind.POWER_METER)
    plat, plng = _spot(rng, lat, lng) if lat is not None else (None, None)
    state = {}
    if kind in (DeviceKind.ABNORMAL, DeviceKind.BRACELET):
        # the last sign of life, so the inactivity rule counts from a recent movement, not from installation
        state[STATE_KEY] = {"active_at": (now - dt.timedelta(minutes=rng.randint(5, 180))).isoformat()}
    device = Device(
        code=code,
        kind=kind,
        name=name,
        house=house,
        estate_id=house.estate_id,
        resident=resident,
        location=where,
        grid=grid,
        installed_on=(now - dt.timedelta(days=rng.randint(30, 700))).date(),
        online=online,
        last_seen_at=now - dt.timedelta(seconds=rng.randint(5, 120) if online else rng.randint(7200, 86400)),
        battery=None if mains else battery,
        signal=rng.randint(-100, -62),
        lat=plat if kind == DeviceKind.BRACELET or kind == DeviceKind.CAMERA else None,
        lng=plng if kind == DeviceKind.BRACELET or kind == DeviceKind.CAMERA else None,
        position_at=now if kind == DeviceKind.BRACELET else None,
        model={"bracelet": "BD-W3", "call_button": "SOS-K1", "gateway": "HG-6"}.get(kind, ""),
        state=state,
    )
    device.copy_areas_from_grid()
    return device


# -- the dispatch center's people --------------------------------------------------------------------------


def _staff_user(username: str, display: str, role: Role, area: Area) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={"display_name": display})
    if created:
        user.set_password(settings.DEMO_PASSWORD)
        user.save(update_fields=["password"])
    Assignment.objects.get_or_create(user=user, role=role, area=area, estate=None)
    return user


@transaction.atomic
def ensure_demo_dispatch(street: Area, *, seed: int = 11, now: dt.datetime | None = None) -> tuple[int, int, int, str]:
    """Crews, roster, rescuers and call-takers; the demo accounts on the crew on duty now."""
    from linli.dispatch.models import Crew, Rescuer, Shift
    from linli.dispatch.roster import ensure_crews, make_roster, on_duty

    now = now or timezone.now()
    rng = random.Random(seed + 1)
    crews = ensure_crews(street)
    today = timezone.localdate(now)
    made = make_roster(street, today - dt.timedelta(days=1), 4).created
    lat0, lng0 = _center(street)
    rescuer_role, taker_role = Role.objects.get(code="rescuer"), Role.objects.get(code="dispatcher")
    n = 0
    for i, crew in enumerate(crews):
        for _j in range(RESCUERS_PER_CREW):
            n += 1
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            user = _staff_user(f"rescuer{n:02d}", name, rescuer_role, street)
            lat, lng = _spot(rng, lat0, lng0, 0.012)
            Rescuer.objects.get_or_create(
                user=user,
                defaults={
                    "area": street,
                    "crew": crew,
                    "travel": [Rescuer.Travel.EBIKE, Rescuer.Travel.EBIKE, Rescuer.Travel.CAR, Rescuer.Travel.FOOT][
                        (n - 1) % 4
                    ],
                    "lat": lat,
                    "lng": lng,
                    "base_lat": lat,
                    "base_lng": lng,
                    "position_at": now,
                },
            )
        for j in range(CALLTAKERS_PER_CREW):
            k = i * CALLTAKERS_PER_CREW + j + 1
            crew.members.add(
                _staff_user(f"calltaker{k:02d}", rng.choice(SURNAMES) + rng.choice(GIVEN), taker_role, street)
            )
    shift = on_duty(street, now)
    label = ""
    demo = {u.username: u for u in User.objects.filter(username__in=["dispatcher", "shift_lead", "rescuer"])}
    if shift is not None:
        crew = shift.crew
        label = f"{crew.name} ({shift.get_name_display()} {timezone.localtime(shift.starts_at):%H:%M})"
        if "shift_lead" in demo:
            lead = demo["shift_lead"]
            Crew.objects.filter(area=street, lead=lead).exclude(pk=crew.pk).update(lead=None)
            Crew.objects.filter(pk=crew.pk).update(lead=lead)
            Shift.objects.filter(crew=crew, ends_at__gt=now).update(lead=lead)
            crew.members.add(lead)
        if "dispatcher" in demo:
            for other in crews:
                other.members.remove(demo["dispatcher"])
            crew.members.add(demo["dispatcher"])
        if "rescuer" in demo:
            Rescuer.objects.update_or_create(
                user=demo["rescuer"],
                defaults={"area": street, "crew": crew, "travel": Rescuer.Travel.EBIKE},
            )
            me = Rescuer.objects.get(user=demo["rescuer"])
            if me.lat is None:
                lat, lng = _spot(rng, lat0, lng0, 0.004)
                Rescuer.objects.filter(pk=me.pk).update(lat=lat, lng=lng, base_lat=lat, base_lng=lng, position_at=now)
        # on duty: available unless busy on an incident; off duty: the other crews
        Rescuer.objects.filter(area=street, crew=crew, status=Rescuer.Status.OFF_DUTY).update(
            status=Rescuer.Status.AVAILABLE
        )
        Rescuer.objects.filter(area=street, status=Rescuer.Status.AVAILABLE).exclude(crew=crew).update(
            status=Rescuer.Status.OFF_DUTY
        )
    return Rescuer.objects.filter(area=street).count(), len(crews), made, label
