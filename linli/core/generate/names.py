"""Chinese personal names: surnames by frequency, given names by sex and birth generation."""

from __future__ import annotations

import random
from itertools import accumulate

# Surname: share of the population in per cent (national ranking, 2019-2020 household registration data).
_SURNAMES = """
王7.12 李7.00 张6.74 刘5.10 陈4.61 杨3.22 黄2.45 赵2.19 吴2.00 周1.90 徐1.45 孙1.38 马1.29 朱1.28 胡1.16
郭1.13 何1.06 林1.01 高1.00 罗0.95 郑0.87 梁0.82 谢0.72 宋0.70 唐0.62 许0.61 韩0.60 冯0.59 邓0.57 曹0.57
彭0.54 曾0.54 肖0.53 田0.52 董0.51 袁0.49 潘0.47 于0.47 蒋0.46 蔡0.45 余0.44 杜0.43 叶0.42 程0.41 苏0.40
魏0.39 吕0.38 丁0.37 任0.36 沈0.35 姚0.34 卢0.33 姜0.32 崔0.31 钟0.30 谭0.29 陆0.28 汪0.27 范0.26 金0.25
石0.25 廖0.24 贾0.24 夏0.23 韦0.22 付0.22 方0.21 白0.21 邹0.20 孟0.20 熊0.19 秦0.19 邱0.18 江0.18 尹0.17
薛0.17 闫0.16 段0.16 雷0.15 侯0.15 龙0.15 史0.14 陶0.14 黎0.13 贺0.13 顾0.13 毛0.12 郝0.12 龚0.12 邵0.12
万0.11 钱0.11 严0.11 武0.10 戴0.10 孔0.10 汤0.10 常0.09 葛0.08 齐0.08 穆0.06 欧阳0.05 司马0.01
"""
SURNAMES: list[str] = []
_WEIGHTS: list[float] = []
for _item in _SURNAMES.split():
    _name = _item.rstrip("0123456789.")
    SURNAMES.append(_name)
    _WEIGHTS.append(float(_item[len(_name) :]))
_CUM = list(accumulate(_WEIGHTS))

# Given names by generation (birth year up to the key) and sex: common names of each era.
_GIVEN = {
    1959: {
        "M": "建国 国华 国强 建华 志强 德明 振华 玉林 文华 长林 树林 永祥 宝山 德福 金生 福海 庆祥 学文 振东 保国 "
        "卫国 凤山 连生 春生 占山 广仁 德胜 洪涛 明亮 文彬",
        "F": "秀英 桂英 淑珍 玉兰 秀兰 桂兰 凤兰 玉珍 淑兰 秀珍 素珍 玉梅 淑英 凤英 桂珍 玉华 秀芳 淑芬 桂芳 兰英 "
        "翠兰 美华 凤琴 秀荣 玉芝 金凤 德兰 桂花 月英 巧云",
    },
    1979: {
        "M": "伟 军 勇 强 磊 涛 斌 刚 明 杰 海涛 建军 志刚 卫东 红军 文革 立新 永强 建平 晓东 海军 利民 红兵 "
        "宏伟 振宇 国庆 春雷 小兵 新民 跃进",
        "F": "丽 静 敏 燕 艳 霞 红 芳 娟 萍 丽华 红梅 海燕 秀梅 丽娟 晓红 春梅 建华 彩霞 玉红 卫红 桂红 "
        "晓燕 小红 亚萍 爱华 丽萍 建英 红霞 学英",
    },
    1999: {
        "M": "磊 鹏 超 浩 鑫 亮 杰 宇 帅 斌 晨 俊杰 志鹏 晓明 建伟 海洋 文博 子健 天宇 博文 家豪 明辉 "
        "冠宇 旭东 嘉伟 泽宇 思远 立伟 俊豪 凯",
        "F": "婷 雪 佳 倩 琳 颖 洁 晶 蕾 莹 丹 欣 丽娜 晓雪 婷婷 雪梅 佳琪 思雨 梦瑶 雅琪 晓丽 文静 "
        "美玲 佳慧 若曦 悦 璐 宁 瑶 楠",
    },
    2100: {
        "M": "梓轩 浩宇 子涵 宇轩 浩然 子墨 一鸣 俊熙 沐阳 皓轩 宇航 博涛 奕辰 思源 锦程 铭泽 睿 泽 "
        "子豪 晨阳 天佑 嘉懿 煜 亦凡 承泽 梓睿 瑞霖 星宇 书恒 景行",
        "F": "欣怡 雨桐 一诺 梓涵 子涵 诗涵 可馨 梦琪 语桐 思涵 雨萱 若汐 依诺 欣妍 佳怡 梓萱 沐晴 "
        "芊芊 语嫣 安琪 悦 萌 朵朵 紫涵 梦洁 心怡 雅涵 婉清 乐瑶 静姝",
    },
}
GIVEN: dict[int, dict[str, list[str]]] = {y: {s: names.split() for s, names in v.items()} for y, v in _GIVEN.items()}
_ERAS = sorted(GIVEN)
# Second characters to vary two-character names.
_EXTRA = {"M": "华明军强伟杰林东平辉宇涛峰志鹏", "F": "华丽芳红燕敏静娟霞萍婷雪琳佳颖"}


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, cum_weights=_CUM)[0]


def given_name(rng: random.Random, sex: str, birth_year: int) -> str:
    era = next(y for y in _ERAS if birth_year <= y)
    name = rng.choice(GIVEN[era][sex])
    if len(name) == 1 and rng.random() < 0.35:
        name += rng.choice(_EXTRA[sex])
    return name


def full_name(rng: random.Random, sex: str, birth_year: int, family: str | None = None) -> str:
    return (family or surname(rng)) + given_name(rng, sex, birth_year)
