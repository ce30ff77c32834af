"""Photos on cases: only real images, only so big; the file type is read from its bytes, not its name."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_PHOTOS = 9
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


def max_bytes() -> int:
    return int(getattr(settings, "LINLI_MAX_PHOTO_BYTES", 8 * 1024 * 1024))


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in _SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_photos(files) -> list[tuple[object, str, str]]:
    """Validate every file before anything is written: (file, content type, extension) for each."""
    files = list(files or [])
    if len(files) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)d photos.") % {"n": MAX_PHOTOS}})
    checked = []
    limit = max_bytes()
    for f in files:
        name = getattr(f, "name", "") or _("file")
        if f.size > limit:
            raise ValidationError(
                {
                    "photos": _("“%(name)s” is %(size).1f MB; a photo may be at most %(limit).0f MB.")
                    % {"name": name, "size": f.size / 1048576, "limit": limit / 1048576}
                }
            )
        if f.size == 0:
            raise ValidationError({"photos": _("“%(name)s” is empty.") % {"name": name}})
        f.seek(0)
        kind = sniff(f.read(16))
        f.seek(0)
        if kind is None:
            raise ValidationError(
                {"photos": _("“%(name)s” is not a photo. Send JPEG, PNG, GIF or WebP images.") % {"name": name}}
            )
        checked.append((f, kind[0], kind[1]))
    return checked


def new_token() -> str:
    return secrets.token_hex(12)
