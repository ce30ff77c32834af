"""Demo care profiles (关爱档案) for the cared-for residents of the demo street: everyone a device watches over
(linli/core/generate/devices.py) gets plausible conditions, medication, allergies, mobility, hearing or
understanding notes, a family doctor and, for most, a neighbour or relative holding a spare key.

Fictitious, drawn from a seeded random generator per resident, so the same resident gets the same profile on
every machine. Safe to run again: residents who have a profile keep it.
"""

from __future__ import annotations

import random

from django.db import transaction

from linli.core.generate.devices import SURNAMES
from linli.iot.models import Device
from linli.people.models import CareProfile, Resident
from linli.places.models import Area

# who holds the spare key, and how they are called: neighbours by 阿姨/师傅, family by a given name
KEY_HOLDERS = [
    ("邻居", ["阿姨", "师傅", "大姐"]),
    ("邻居", ["阿姨", "师傅", "大姐"]),
    ("楼门长", ["阿姨", "师傅"]),
    ("女儿", ["秀梅", "丽娟", "海燕", "晓红"]),
    ("儿子", ["建华", "志刚", "立新", "海涛"]),
    ("侄女", ["春燕", "小红"]),
]

# condition → what is usually taken for it
CONDITIONS = [
    ("高血压", "苯磺酸氨氯地平 每日早一片"),
    ("糖尿病", "二甲双胍 每日两次，餐后"),
    ("冠心病", "阿司匹林肠溶片 每日一片；随身带硝酸甘油"),
    ("心脏病史（心梗，已放支架）", "氯吡格雷 每日一片"),
    ("慢阻肺", "噻托溴铵吸入 每日一次"),
    ("脑梗后遗症，右侧肢体无力", "阿托伐他汀 每晚一片"),
    ("骨质疏松", "钙片、维生素D"),
    ("帕金森病", "多巴丝肼 每日三次"),
    ("膝关节炎", ""),
    ("白内障", ""),
]
ALLERGIES = ["无已知过敏"] * 6 + ["青霉素过敏", "头孢类过敏", "磺胺类药物过敏", "海鲜过敏"]
MOBILITY = [
    (CareProfile.Mobility.INDEPENDENT, 45),
    (CareProfile.Mobility.AID, 30),
    (CareProfile.Mobility.WHEELCHAIR, 12),
    (CareProfile.Mobility.BEDRIDDEN, 8),
    ("", 5),
]
HEARING = [""] * 5 + [
    "耳背，需大声说话",
    "左耳戴助听器，电话里听不清",
    "轻度认知障碍，说话要慢",
    "视力差，看不清来电号码",
    "阿尔茨海默病早期，可能说不清自己的住址",
]
NOTES = [""] * 4 + [
    "女儿在外地，每周日来电",
    "每天上午去社区老年食堂",
    "家里养了一只猫",
    "夜里常起夜，曾在卫生间摔倒",
    "只说天津话，听普通话有些吃力",
]


def _profile(resident: Resident, street: Area) -> CareProfile:
    rng = random.Random(f"care-{resident.pk}")
    profile = CareProfile(resident=resident)
    chosen = rng.sample(CONDITIONS, k=rng.choice((1, 2, 2, 3)))
    profile.conditions = "、".join(c for c, _ in chosen)
    profile.medication = "；".join(m for _, m in chosen if m)
    profile.allergies = rng.choice(ALLERGIES)
    profile.mobility = rng.choices([m for m, _ in MOBILITY], weights=[w for _, w in MOBILITY])[0]
    profile.hearing_cognition = rng.choice(HEARING)
    center = street.name.removesuffix("道")  # 劝业场街道 → 劝业场街社区卫生服务中心
    profile.doctor = f"{center}社区卫生服务中心 {rng.choice(SURNAMES)}医生（家庭医生签约）"
    if rng.random() < 0.7:
        relation, names = rng.choice(KEY_HOLDERS)
        family = relation in ("女儿", "儿子") and resident.name
        surname = resident.name[0] if family else rng.choice(SURNAMES)
        profile.key_holder_name = surname + rng.choice(names)
        profile.key_holder_relation = relation
        profile.key_holder_phone = f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
    profile.note = rng.choice(NOTES)
    return profile


@transaction.atomic
def ensure_demo_care_profiles(street: Area) -> int:
    """A care profile for every resident a device of the street watches over. Returns how many were made."""
    watched = Device.objects.filter(street=street, resident__isnull=False).values("resident_id")
    residents = (
        Resident.objects.filter(pk__in=watched, care_profile__isnull=True, status=Resident.Status.ACTIVE)
        .order_by("pk")
        .only("pk", "name")
    )
    profiles = [_profile(r, street) for r in residents]
    CareProfile.objects.bulk_create(profiles, batch_size=500)
    return len(profiles)
