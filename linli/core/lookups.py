"""`field__in_first=subquery`: membership in a subquery that PostgreSQL evaluates first.

`id = ANY(ARRAY(SELECT …))` makes the planner run the (small, indexed) subquery once and then fetch
the matching rows by primary key, instead of walking a large table in sort order and probing the
subquery per row. At city scale this took a street's filtered resident page from ~215 ms to ~50 ms
(docs/benchmarks.md). Other databases get a plain IN.
"""

from django.db import models
from django.db.models.lookups import In


@models.Field.register_lookup
class InSubqueryFirst(In):
    lookup_name = "in_first"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)
