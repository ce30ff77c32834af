"""A place's (and a lead unit's) cases by submission time.

The single-column indexes Django gives every foreign key become two-column indexes (place, submitted_at): a
street's, a district's or a unit's cases of the last 90 days are one index range, which the API's word search
reads before testing the words (linli/cases/words.py), and the same index still serves "all of the street's
cases". The grid's own index goes: wo_grid_time (grid, submitted_at) already serves it.

On PostgreSQL the indexes are built CONCURRENTLY, before the old ones are dropped, so an upgrade does not lock the
case table (≈ 45 s an index for 17 M cases, docs/benchmarks.md); the migration therefore runs outside a
transaction.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "cases_workorder"
NEW = {
    "wo_community_time": ("community_id", "submitted_at"),
    "wo_street_time": ("street_id", "submitted_at"),
    "wo_district_time": ("district_id", "submitted_at"),
    "wo_city_time": ("city_id", "submitted_at"),
    "wo_unit_time": ("lead_unit_id", "submitted_at"),
}
OLD = ("grid_id", "community_id", "street_id", "district_id", "city_id", "lead_unit_id")


def _indexes(schema_editor) -> dict:
    connection = schema_editor.connection
    with connection.cursor() as cur:
        return connection.introspection.get_constraints(cur, TABLE)


def _create(schema_editor, name: str, columns) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    index = _indexes(schema_editor).get(name)
    if index is not None and schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:  # an interrupted CONCURRENTLY build leaves it INVALID
            cur.execute(
                "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
                [name],
            )
            if cur.fetchone()[0]:
                schema_editor.execute(f"DROP INDEX CONCURRENTLY {name}")
                index = None
    if index is None:
        schema_editor.execute(f"CREATE INDEX {concurrently}{name} ON {TABLE} ({', '.join(columns)})")


def _drop(schema_editor, name: str) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")


def forwards(apps, schema_editor):
    for name, columns in NEW.items():
        _create(schema_editor, name, columns)
    for name, index in _indexes(schema_editor).items():
        if index["index"] and not index["unique"] and not index["primary_key"] and name not in NEW:
            if len(index["columns"]) == 1 and index["columns"][0] in OLD:
                _drop(schema_editor, name)


def backwards(apps, schema_editor):
    for column in OLD:
        _create(schema_editor, schema_editor._create_index_name(TABLE, [column], suffix=""), [column])
    for name in NEW:
        _drop(schema_editor, name)


def _fk(to: str, null: bool = False, **extra) -> models.ForeignKey:
    blank = {"blank": True, "null": True} if null else {}
    return models.ForeignKey(
        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=to, **blank, **extra
    )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("cases", "0011_case_words"), ("places", "0001_initial")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(model_name="workorder", name="city", field=_fk("places.area")),
                migrations.AlterField(model_name="workorder", name="community", field=_fk("places.area", True)),
                migrations.AlterField(model_name="workorder", name="district", field=_fk("places.area")),
                migrations.AlterField(model_name="workorder", name="grid", field=_fk("places.area", True)),
                migrations.AlterField(
                    model_name="workorder",
                    name="lead_unit",
                    field=_fk("cases.handlingunit", True, verbose_name="lead unit"),
                ),
                migrations.AlterField(model_name="workorder", name="street", field=_fk("places.area")),
                *(
                    migrations.AddIndex(
                        model_name="workorder",
                        index=models.Index(fields=[c.removesuffix("_id") for c in columns], name=name),
                    )
                    for name, columns in NEW.items()
                ),
            ],
        )
    ]
