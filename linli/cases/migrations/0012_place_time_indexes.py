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

from linli.core import migration_ops as ix

TABLE = "cases_workorder"
NEW = {
    "wo_community_time": ("community_id", "submitted_at"),
    "wo_street_time": ("street_id", "submitted_at"),
    "wo_district_time": ("district_id", "submitted_at"),
    "wo_city_time": ("city_id", "submitted_at"),
    "wo_unit_time": ("lead_unit_id", "submitted_at"),
}
OLD = ("grid_id", "community_id", "street_id", "district_id", "city_id", "lead_unit_id")


def forwards(apps, schema_editor):
    ix.replace_indexes(schema_editor, TABLE, NEW, OLD)


def backwards(apps, schema_editor):
    ix.restore_indexes(schema_editor, TABLE, NEW, OLD)


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
