"""Writing generated rows: COPY on PostgreSQL, executemany on SQLite, all in one transaction."""

from __future__ import annotations

from django.apps import apps
from django.db import connection

# Load order follows the foreign keys (they are deferred anyway, but this keeps SQLite's checks cheap).
TABLES = [
    ("org", "people.Organization"),
    ("estate", "places.Estate"),
    ("building", "places.Building"),
    ("unit", "places.Unit"),
    ("house", "places.House"),
    ("household", "people.Household"),
    ("resident", "people.Resident"),
    ("label", "people.Resident_labels"),
    ("occupancy", "people.Occupancy"),
    ("contact", "people.EmergencyContact"),
    ("facility", "places.Facility"),
]


def model_of(label: str):
    if label == "people.Resident_labels":
        return apps.get_model("people", "Resident").labels.through
    return apps.get_model(label)


def table_columns(label: str) -> tuple[str, list[str]]:
    model = model_of(label)
    return model._meta.db_table, [f.column for f in model._meta.concrete_fields]


def max_ids() -> dict[str, int]:
    """First free primary key of every generated table (ids are chosen by the generator)."""
    out = {}
    with connection.cursor() as cur:
        for key, label in TABLES:
            table, _cols = table_columns(label)
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            out[key] = cur.fetchone()[0] + 1
    return out


def begin_bulk() -> str:
    """Inside the run's transaction: skip per-row foreign-key triggers where the database role may
    (PostgreSQL superuser); otherwise check constraints row by row so the pending-check queue stays small."""
    if connection.vendor != "postgresql":
        return "sqlite"
    with connection.cursor() as cur:
        cur.execute("SAVEPOINT linli_bulk")
        try:
            cur.execute("SET LOCAL session_replication_role = replica")
        except Exception:  # noqa: BLE001 - not a superuser: fall back to checked inserts
            cur.execute("ROLLBACK TO SAVEPOINT linli_bulk")
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            return "postgresql (constraints checked per row)"
        cur.execute("RELEASE SAVEPOINT linli_bulk")
    return "postgresql (COPY, bulk mode)"


def write(key_or_label: str, payload, columns: list[str] | None = None) -> None:
    label = dict(TABLES).get(key_or_label, key_or_label)
    table, cols = table_columns(label)
    if columns is not None:
        cols = columns
    if not payload:
        return
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            raw = cur.cursor if hasattr(cur, "cursor") else cur
            with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                copy.write(payload)
        else:
            marks = ", ".join(["%s"] * len(cols))
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", payload)


def reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return
    # Move each id sequence past the rows written with explicit ids, never back: setval is not
    # transactional, so lowering it (after a rolled-back run) would hand out ids already in use.
    models = [model_of(label) for _k, label in TABLES] + [apps.get_model("places", "Area")]
    with connection.cursor() as cur:
        for model in models:
            table = model._meta.db_table
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            seq = cur.fetchone()[0]
            if not seq:
                continue
            cur.execute(f"SELECT last_value FROM {seq}")
            last = cur.fetchone()[0]
            cur.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')
            top = cur.fetchone()[0]
            if top > last:
                cur.execute("SELECT setval(%s, %s, true)", [seq, top])


def analyze() -> None:
    """Statistics for the planner; outside a transaction also VACUUM, which sets the visibility map
    so that scope counts run as index-only scans from the first request (docs/benchmarks.md)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cur.execute("VACUUM (ANALYZE)")
        else:
            cur.execute("ANALYZE")
