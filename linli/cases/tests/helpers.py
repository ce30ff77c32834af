"""Small helpers shared by the work-order tests."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from linli.cases import services
from linli.cases.models import Category, Channel

# the smallest valid PNG (1×1)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def report(world, grid: str = "A1-1", *, channel: str = Channel.RESIDENT, category: str | None = None, **kw):
    """A services.Report about the first house of a grid."""
    loc = services.locate_house(world.house_in(grid))
    cat = Category.objects.get(code=category) if category else None
    kw.setdefault("title", "楼道灯坏了")
    kw.setdefault("description", "3号楼2单元楼道灯坏了一个星期 晚上老人下楼看不见")
    return services.Report(channel=channel, location=loc, category=cat, **kw)


def open_case(world, user: str = "resident", grid: str = "A1-1", **kw):
    actor = world.users[user] if user else None
    channel = kw.pop("channel", Channel.RESIDENT)
    return services.create_case(actor, report(world, grid, channel=channel, **kw))


def dispatched(world, grid: str = "A1-1", unit: str = "a1-community", dispatcher: str = "community", **kw):
    case = open_case(world, grid=grid, **kw)
    return services.act(world.users[dispatcher], case.pk, "dispatch", unit=world.units[unit])
