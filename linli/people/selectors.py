"""Reading people: queries shared by the console, the exports and the API."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Q

from linli.core import crypto
from linli.core.idnumber import normalize_phone

ID_NUMBER_RE = re.compile(r"^\d{17}[\dX]$")


def resident_search_q(term: str) -> Q:
    """A full ID or phone number matches exactly through its blind index; anything else searches names."""
    term = term.strip()
    compact = term.replace(" ", "").upper()
    if ID_NUMBER_RE.match(compact):
        return Q(id_number_hash=crypto.blind_index(compact))
    try:
        phone = normalize_phone(term)
    except ValidationError:
        return Q(name__icontains=term)
    return Q(phone_hash=crypto.blind_index(phone))
