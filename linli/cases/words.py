"""Word search in cases' title and description.

Chinese has no spaces and its words are mostly two characters, which pg_trgm's trigrams cannot find, so on
PostgreSQL two GIN indexes hold each case's character bigrams (linli_bigrams: "楼道灯坏了" → {楼道, 道灯, 灯坏,
坏了}): wo_open_words over the open cases (cases migration 0010, the dispatcher's queue) and wo_words over the
whole history (migration 0011, the API's search over a period). Both index the same expression, so one
condition serves both; PostgreSQL takes the partial index when the query is limited to open cases. The
case-insensitive LIKE stays the exact test: the bigram condition only lets PostgreSQL find the candidates
first. SQLite has neither the function nor the indexes and reads the rows.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

# the indexed expression, as the indexes have it
WORDS_SQL = """linli_bigrams("cases_workorder"."title" || ' ' || "cases_workorder"."description") @> %s::text[]"""


MAX_WORDS = 5  # a search reads the first five words typed
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


def terms(text: str) -> list[str]:
    """The words of a search, as both searches (the desk's and the API's) read them."""
    return text.split()[:MAX_WORDS]


def bigrams(words: list[str]) -> list[str]:
    """The character bigrams every matching case must contain, for the bigram indexes on PostgreSQL (none
    elsewhere). Only bigrams whose lower case PostgreSQL and Python agree on: ASCII and uncased characters
    such as Chinese."""
    if connection.vendor != "postgresql":
        return []
    grams = set()
    for word in words:
        low = word.lower()
        for i in range(len(low) - 1):
            gram = low[i : i + 2]
            if all(c.isascii() or c.lower() == c.upper() for c in gram):
                grams.add(gram)
    return sorted(grams)


def words_q(words: list[str], *, bigram_index: bool = True) -> Q:
    """Every word in the title or the description, in any case; through the bigram indexes on PostgreSQL
    unless `bigram_index` is false (see narrow_scope)."""
    q = Q()
    for word in words:
        q &= Q(title__icontains=word) | Q(description__icontains=word)
    if bigram_index and (grams := bigrams(words)):
        q &= Q(RawSQL(WORDS_SQL, [grams], output_field=BooleanField()))  # noqa: S611 - constant SQL, bound values
    return q


def narrow_scope(user) -> bool:
    """Whether a user's search over a period should read the user's cases of the period and test the words on
    each, rather than ask the bigram index first. A street's or a district's 90 days are thousands to tens of
    thousands of cases, one range of an index on (place, submitted_at) (cases migration 0012), which LIKE tests
    in tens of milliseconds; a common word such as 漏水 is in one case of fifteen, so its bigram bitmap over the
    whole history (1.2 M cases at city scale) would cost more than the reading. A city's 90 days are millions
    of cases — a city-wide area, or membership of a unit that serves a whole city and leads its cases: there
    the bigram index finds the candidates first."""
    from linli.cases.models import HandlingUnit, unit_ids_of
    from linli.core import codes

    scope = user.scope_for("cases.view")
    if scope.all or scope.city_ids:
        return False
    units = unit_ids_of(user) if user.has_linli_perm("cases.handle") else []
    return not (units and HandlingUnit.objects.filter(pk__in=units, area__level=codes.CITY).exists())


class SearchTooBroadError(Exception):
    """A word search ran past LINLI_WORD_SEARCH_SECONDS (PostgreSQL cancelled it)."""


@contextmanager
def search_limits():
    """Run a word search over a period with LINLI_WORD_SEARCH_WORK_MEM of work_mem and at most
    LINLI_WORD_SEARCH_SECONDS (PostgreSQL; a no-op elsewhere). A search no index narrows (one character over a
    whole city's 90 days, say) is cancelled and raises SearchTooBroadError instead of holding a connection.

    PostgreSQL intersects the bitmaps of the scope, the words and the period; at city scale they hold a million
    rows each, and with too little memory they turn lossy, so that PostgreSQL re-runs the bigram function on
    every row of the pages concerned: a district's 90-day search at city scale took more than 10 s with 16 MB
    and 0.58 s with 256 MB (docs/benchmarks.md). SET LOCAL holds for this transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SELECT set_config('work_mem', %s, true)", [settings.LINLI_WORD_SEARCH_WORK_MEM])
                cur.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [f"{settings.LINLI_WORD_SEARCH_SECONDS}s"]
                )
            yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == QUERY_CANCELED:
            raise SearchTooBroadError from exc
        raise
