"""The work-order part of the test world: handling units, their members, routing rules, two handlers.

unit a1-community  新华里社区居委会     community A1   members: community, grid
unit b1-community  开封道社区居委会     community B1   members: community_b, grid_b
unit p1-property   新华物业公司         community A1   estate E1, members: property
unit a-urban       劝业场街道城管科     street A       members: handler
unit a-police      劝业场派出所         street A       members: (none)
unit b-urban       小白楼街道城管科     street B       members: handler_b

routing: any category in A1 → a1-community; in A2 → a1-community; in B1 → b1-community;
         03 物业服务 in A1 → p1-property; 0503 占道经营 anywhere in street A → a-urban;
         08 社会治安 in street A → a-police
"""

from __future__ import annotations

from linli.cases.models import Category, HandlingUnit, RoutingRule


def build_cases(w) -> None:
    from linli.testing.world import make_user

    a, u = w.areas, w.users
    u["handler"] = make_user("handler", "handler", area=a["A"])
    u["handler_b"] = make_user("handler_b", "handler", area=a["B"])

    def unit(code, name, kind, area, members=(), estates=()):
        obj = HandlingUnit.objects.create(code=code, name=name, kind=kind, area=area)
        obj.members.set([u[m] for m in members])
        obj.estates.set(estates)
        w.units[code] = obj
        return obj

    a1 = unit("a1-community", "新华里社区居委会", "community", a["A1"], ("community", "grid"))
    b1 = unit("b1-community", "开封道社区居委会", "community", a["B1"], ("community_b", "grid_b"))
    p1 = unit("p1-property", "新华物业公司", "property", a["A1"], ("property",), (w.estates["E1"],))
    urban = unit("a-urban", "劝业场街道城管科", "urban", a["A"], ("handler",))
    police = unit("a-police", "劝业场派出所", "police", a["A"])
    unit("b-urban", "小白楼街道城管科", "urban", a["B"], ("handler_b",))
    cat = {c.code: c for c in Category.objects.all()}
    for category, area, target in (
        (None, a["A1"], a1),
        (None, a["A2"], a1),
        (None, a["B1"], b1),
        (cat["03"], a["A1"], p1),
        (cat["0503"], a["A"], urban),
        (cat["08"], a["A"], police),
    ):
        RoutingRule.objects.create(category=category, area=area, unit=target)
