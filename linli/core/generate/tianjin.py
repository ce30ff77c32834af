"""The Tianjin hierarchy the generator builds: 16 districts (GB/T 2260 codes), 281 streets,
5,846 communities and 21,066 grids, as the seed documents give them.

Streets per district follow the real pattern (small central districts, large outer ones); communities
and grids are shared out in proportion to each district's 7th-census population, so every grid holds
about the same number of households (200-250).
"""

from __future__ import annotations

import random

CITY_CODE, CITY_NAME = "120100000000", "天津市"
TOTAL_STREETS, TOTAL_COMMUNITIES, TOTAL_GRIDS = 281, 5846, 21066

# region code, name, streets, population (millions, 7th census, rounded)
DISTRICTS: list[tuple[str, str, int, float]] = [
    ("120101", "和平区", 6, 0.36),
    ("120102", "河东区", 13, 0.86),
    ("120103", "河西区", 14, 0.98),
    ("120104", "南开区", 12, 1.11),
    ("120105", "河北区", 10, 0.65),
    ("120106", "红桥区", 10, 0.48),
    ("120110", "东丽区", 13, 0.86),
    ("120111", "西青区", 16, 1.20),
    ("120112", "津南区", 12, 0.93),
    ("120113", "北辰区", 17, 0.91),
    ("120114", "武清区", 31, 1.15),
    ("120115", "宝坻区", 24, 0.72),
    ("120116", "滨海新区", 43, 2.06),
    ("120117", "宁河区", 14, 0.40),
    ("120118", "静海区", 20, 0.79),
    ("120119", "蓟州区", 26, 0.80),
]
DISTRICT_NAMES = {code: name for code, name, _s, _p in DISTRICTS}

# Real street names where we use them (the demo street is 和平区's 劝业场街道).
KNOWN_STREETS = {"120101": ["劝业场街道", "小白楼街道", "五大道街道", "新兴街道", "南营门街道", "南市街道"]}
_WORDS = (
    "新华 友谊 春华 向阳 光明 建设 胜利 红星 幸福 长江 黄河 东风 前进 团结 和谐 兴华 振华 丰收 育红 明德 "
    "文昌 金钟 宜兴 万新 体北 天塔 王顶 水上 华苑 学府 咸阳 鼓楼 芥园 西营 铃铛 大直 中山 望海 宁园 月牙 "
    "江都 鸿顺 翠阜 梅江 柳林 桃园 李七 尖山 陈塘 马场 越秀 友爱 和顺 康宁 丽水 福安 安居 嘉园 锦绣 龙潭 "
    "海河 津门 北塘 新港 塘沽 汉沽 大港 杨柳 静安 盘山 渔阳 玉阳 潮白 宝平 蓟运 七里 花园 银河 星光 春晖"
).split()
_STREET_SUFFIX = ("街道", "街道", "街道", "镇")
_COMMUNITY_SUFFIX = ("里社区", "园社区", "苑社区", "花园社区", "家园社区", "新村社区", "社区")


def largest_remainder(total: int, weights: list[float], minimum: int = 1) -> list[int]:
    """Share `total` out in proportion to `weights`, each at least `minimum`, summing exactly."""
    n = len(weights)
    spare = total - minimum * n
    if spare < 0:
        raise ValueError("total too small for the minimum share")
    s = sum(weights)
    raw = [spare * w / s for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(n), key=lambda i: raw[i] - out[i], reverse=True)
    for i in order[: spare - sum(out)]:
        out[i] += 1
    return [o + minimum for o in out]


def street_names(region: str, n: int, rng: random.Random) -> list[str]:
    known = KNOWN_STREETS.get(region, [])
    words = rng.sample(_WORDS, len(_WORDS))
    names = list(known[:n])
    for w in words:
        if len(names) >= n:
            break
        name = w + rng.choice(_STREET_SUFFIX)
        if all(not x.startswith(w) for x in names):
            names.append(name)
    return names


def community_names(n: int, rng: random.Random) -> list[str]:
    names: list[str] = []
    used: set[str] = set()
    while len(names) < n:
        w = rng.choice(_WORDS)
        name = w + rng.choice(_COMMUNITY_SUFFIX)
        if w not in used or len(used) >= len(_WORDS):
            used.add(w)
            if name not in names:
                names.append(name)
    return names


def city_shape(seed: int) -> list[tuple[str, list[list[int]]]]:
    """Per district: for every street, the grid count of each community (sums match the seed figures)."""
    rng = random.Random(seed * 7919 + 1)
    pops = [p for _c, _n, _s, p in DISTRICTS]
    communities = largest_remainder(TOTAL_COMMUNITIES, pops)
    grids = largest_remainder(TOTAL_GRIDS, pops)
    out = []
    for (region, _name, n_streets, _p), n_comm, n_grid in zip(DISTRICTS, communities, grids, strict=True):
        street_comm = largest_remainder(n_comm, [rng.uniform(0.7, 1.3) for _ in range(n_streets)])
        comm_weights = [[rng.uniform(0.6, 1.4) for _ in range(c)] for c in street_comm]
        flat = largest_remainder(n_grid, [w for ws in comm_weights for w in ws])
        streets, i = [], 0
        for c in street_comm:
            streets.append(flat[i : i + c])
            i += c
        out.append((region, streets))
    return out
