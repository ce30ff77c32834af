"""The default work-order categories (../shared/taxonomy.md, after GB/T 30428), loaded as editable data.

Codes are stable: statistics and external systems (Open311 service codes) rely on them."""

from __future__ import annotations

# code, 名称, name, usual handler
DEFAULT_CATEGORIES: list[tuple[str, str, str, str]] = [
    ("01", "市容环境", "Environment and sanitation", ""),
    ("0101", "垃圾堆放/清运不及时", "Garbage piling up / not collected", "property company or street sanitation"),
    ("0102", "垃圾分类违规", "Garbage sorting violation", "community"),
    ("0103", "绿化损毁/杂草", "Damaged greenery / weeds", "property company or landscaping"),
    ("0104", "病媒生物(鼠蟑蚊蝇)", "Pests (rats, cockroaches, mosquitoes, flies)", "community health"),
    ("0105", "污水外溢/异味", "Sewage overflow / odours", "property company or water utility"),
    ("0106", "乱贴乱画/小广告", "Illegal posters / graffiti", "property company or 城管"),
    ("02", "公共设施", "Public facilities", ""),
    ("0201", "道路破损", "Damaged road or pavement", "street / municipal works"),
    ("0202", "路灯故障", "Street light out", "municipal works or property company"),
    ("0203", "井盖缺失/破损", "Missing or broken manhole cover", "municipal works"),
    ("0204", "积水/排水不畅", "Standing water / blocked drain", "municipal works or property company"),
    ("0205", "健身/休闲设施损坏", "Broken fitness or leisure equipment", "community or property company"),
    ("0206", "无障碍设施", "Accessibility facilities", "community"),
    ("03", "物业服务", "Property services", ""),
    ("0301", "电梯故障", "Elevator fault", "property company (safety: market regulator)"),
    ("0302", "房屋漏水/管道", "Leaks / pipes in a home", "property company"),
    ("0303", "公共区域维修", "Common-area repair", "property company"),
    ("0304", "门禁/安保", "Access control / security guards", "property company"),
    ("0305", "物业收费", "Property fees", "property company, housing office"),
    ("0306", "保洁服务", "Cleaning service", "property company"),
    ("04", "安全隐患", "Safety hazards", ""),
    ("0401", "消防通道堵塞/消防设施", "Blocked fire lane / fire equipment", "property company, fire safety"),
    ("0402", "电动车违规停放充电", "E-bike parked or charged indoors", "property company, community"),
    ("0403", "燃气安全", "Gas safety", "gas utility"),
    ("0404", "危房/外墙脱落", "Unsafe building / falling facade", "housing office"),
    ("0405", "高空抛物", "Objects thrown from height", "police station, property company"),
    ("05", "街面秩序", "Public order", ""),
    ("0501", "乱停车/占用车位", "Illegal parking / taken parking space", "property company or traffic police"),
    ("0502", "噪音扰民", "Noise nuisance", "community, 城管 or police station"),
    ("0503", "占道经营/流动摊贩", "Street vending", "城管"),
    ("0504", "违章搭建", "Illegal construction", "城管"),
    ("0505", "犬只/宠物管理", "Dogs / pets", "police station, community"),
    ("0506", "群租", "Overcrowded rentals", "community, police station"),
    ("06", "矛盾纠纷", "Disputes", ""),
    ("0601", "邻里纠纷", "Neighbour dispute", "community mediation"),
    ("0602", "家庭纠纷", "Family dispute", "community mediation"),
    ("0603", "劳资纠纷/欠薪", "Labour dispute / unpaid wages", "labour inspection"),
    ("0604", "业主与物业纠纷", "Owner–property company dispute", "housing office, community"),
    ("07", "民生服务", "Livelihood services", ""),
    ("0701", "养老服务", "Elderly care", "civil affairs, community"),
    ("0702", "社会救助/低保", "Social assistance / subsistence allowance", "civil affairs"),
    ("0703", "医疗卫生", "Health", "community health centre"),
    ("0704", "教育/托育", "Education / childcare", "education office"),
    ("0705", "水电气暖供应", "Water, power, gas or heating supply", "utilities"),
    ("0706", "就业", "Employment", "labour office"),
    ("0707", "残疾人服务", "Disability services", "disabled persons' federation"),
    ("08", "社会治安", "Public security", ""),
    ("0801", "盗窃", "Theft", "police station"),
    ("0802", "诈骗", "Fraud", "police station"),
    ("0803", "可疑人员/车辆", "Suspicious person / vehicle", "police station"),
    ("0804", "打架斗殴", "Fight", "police station"),
    ("09", "突发事件", "Emergencies", ""),
    ("0901", "火灾", "Fire", "119, community"),
    ("0902", "燃气泄漏", "Gas leak", "gas utility, 119"),
    ("0903", "人员受伤/急病", "Injury / acute illness", "120, community"),
    ("0904", "自然灾害/极端天气", "Natural disaster / extreme weather", "emergency management"),
    ("99", "其他", "Other", ""),
    ("9901", "咨询建议", "Question / suggestion", "community"),
    ("9999", "其他", "Other", "community"),
]

URGENT_TOP_LEVELS = ("09",)  # emergencies: urgent by default, counted in natural time
HIGH_LEAVES = ("0203", "0301", "0401", "0403", "0404", "0405")  # hazards to life and limb


def default_priority(code: str) -> str:
    if code[:2] in URGENT_TOP_LEVELS:
        return "urgent"
    if code in HIGH_LEAVES:
        return "high"
    return "normal"


def load_default_categories(category_model) -> int:
    """Create the default categories that are missing (by code); never overwrite an admin's edits."""
    existing = set(category_model.objects.values_list("code", flat=True))
    parents = dict(category_model.objects.filter(parent__isnull=True).values_list("code", "pk"))
    created = 0
    for code, zh, en, handler in DEFAULT_CATEGORIES:
        if code in existing:
            continue
        parent_id = parents.get(code[:2]) if len(code) == 4 else None
        obj = category_model.objects.create(
            code=code,
            name_zh=zh,
            name_en=en,
            usual_handler=handler,
            parent_id=parent_id,
            default_priority=default_priority(code),
        )
        if len(code) == 2:
            parents[code] = obj.pk
        created += 1
    return created


# Default deadline policies for any category: priority → (response, resolution, natural time?).
# Working minutes (a working day is 450 minutes with the default hours), except urgent: natural minutes.
DEFAULT_POLICIES = {
    "urgent": (30, 24 * 60, True),
    "high": (60, 2 * 450, False),
    "normal": (2 * 60, 5 * 450, False),
    "low": (4 * 60, 10 * 450, False),
}


def load_default_policies(policy_model) -> None:
    for priority, (response, resolution, natural) in DEFAULT_POLICIES.items():
        policy_model.objects.get_or_create(
            category=None,
            priority=priority,
            defaults={"response_minutes": response, "resolution_minutes": resolution, "natural_time": natural},
        )
