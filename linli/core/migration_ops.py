"""Migration steps for big tables and for what only PostgreSQL has. Indexes are built CONCURRENTLY on PostgreSQL
(the table stays writable while an index builds) and plainly elsewhere; a migration that builds them sets
`atomic = False`, because PostgreSQL builds concurrently only outside a transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def indexes(schema_editor, table: str) -> dict:
    connection = schema_editor.connection
    with connection.cursor() as cur:
        return connection.introspection.get_constraints(cur, table)


def create_index(schema_editor, table: str, name: str, columns: Sequence[str]) -> None:
    """CREATE INDEX name ON table (columns), unless it exists; an INVALID leftover of an interrupted concurrent
    build is dropped and built again."""
    existing = indexes(schema_editor, table).get(name)
    if existing is not None and schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(
                "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
                [name],
            )
            if cur.fetchone()[0]:
                drop_index(schema_editor, name)
                existing = None
    if existing is None:
        schema_editor.execute(f"CREATE INDEX {_concurrently(schema_editor)}{name} ON {table} ({', '.join(columns)})")


def drop_index(schema_editor, name: str) -> None:
    schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {name}")


def drop_single_column_indexes(schema_editor, table: str, columns: Iterable[str], keep: Iterable[str] = ()) -> None:
    """Drop the indexes Django made for db_index on one of `columns` — named table_column_1a2b3c4d, and on
    PostgreSQL its table_column_1a2b3c4d_like twin — except the ones named in `keep`. An index someone named
    otherwise (a partial or GIN index on the same column, say) is left alone."""
    columns, keep = set(columns), set(keep)
    for name, index in indexes(schema_editor, table).items():
        if not index["index"] or index["unique"] or index["primary_key"] or name in keep:
            continue
        if len(index["columns"]) != 1 or index["columns"][0] not in columns:
            continue
        if name.removesuffix("_like") == django_index_name(schema_editor, table, index["columns"][0]):
            drop_index(schema_editor, name)


def django_index_name(schema_editor, table: str, column: str) -> str:
    """The name Django gives a column's db_index, for putting one back."""
    return schema_editor._create_index_name(table, [column], suffix="")


def replace_indexes(schema_editor, table: str, new: dict[str, Sequence[str]], old: Iterable[str]) -> None:
    """Build the `new` indexes (name → columns), then drop the single-column indexes on the `old` columns."""
    for name, columns in new.items():
        create_index(schema_editor, table, name, columns)
    drop_single_column_indexes(schema_editor, table, old, keep=new)


def restore_indexes(
    schema_editor, table: str, new: dict[str, Sequence[str]], old: Iterable[str], like: Iterable[str] = ()
) -> None:
    """replace_indexes backwards: Django's own index on each `old` column again (and on PostgreSQL the
    varchar_pattern_ops twin it gives the character columns in `like`), then the `new` ones dropped."""
    for column in old:
        name = django_index_name(schema_editor, table, column)
        create_index(schema_editor, table, name, [column])
        if column in like and schema_editor.connection.vendor == "postgresql":
            create_index(schema_editor, table, f"{name}_like", [f"{column} varchar_pattern_ops"])
    for name in new:
        drop_index(schema_editor, name)


def postgres_sql(forwards: str, backwards: str):
    """A RunPython that executes `forwards` (and, migrating back, `backwards`) on PostgreSQL and nothing elsewhere:
    for what only PostgreSQL has (functions, storage parameters); SQLite's tables need none of it."""
    from django.db import migrations

    def run(sql: str):
        def step(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)

        return step

    return migrations.RunPython(run(forwards), run(backwards))
