"""Fewer indexes on the case table: every index is written again whenever a case changes.

- caller_phone_hash and external_ref are looked up exactly, never with LIKE: Django's db_index also builds a
  varchar_pattern_ops twin on PostgreSQL, which only cost writes. Each keeps one plain index.
- category and suggested_category lose their own indexes: the duplicate probes' indexes begin with them
  (wo_category_cell, wo_suggested_cell, migration 0008) and serve the same lookups.

A city's deadline sweep after a stop rewrites tens of thousands of cases; with 32 indexes each new row version
cost ≈ 0.35 ms (docs/benchmarks.md). Built CONCURRENTLY on PostgreSQL, as migration 0012.
"""

from django.db import migrations, models
from django.db.models.deletion import PROTECT, SET_NULL

from linli.core import migration_ops as ix

TABLE = "cases_workorder"
NEW = {"wo_caller_phone": ("caller_phone_hash",), "wo_external_ref": ("external_ref",)}
OLD = ("caller_phone_hash", "external_ref", "category_id", "suggested_category_id")


def forwards(apps, schema_editor):
    ix.replace_indexes(schema_editor, TABLE, NEW, OLD)


def backwards(apps, schema_editor):
    ix.restore_indexes(schema_editor, TABLE, NEW, OLD, like=("caller_phone_hash", "external_ref"))


def _category(on_delete, verbose_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=on_delete,
        related_name="+",
        to="cases.category",
        verbose_name=verbose_name,
    )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("cases", "0013_linear_bigrams")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="workorder",
                    name="caller_phone_hash",
                    field=models.CharField(blank=True, default="", editable=False, max_length=64),
                ),
                migrations.AlterField(
                    model_name="workorder", name="category", field=_category(PROTECT, "category")
                ),
                migrations.AlterField(
                    model_name="workorder",
                    name="external_ref",
                    field=models.CharField(blank=True, max_length=80, verbose_name="external reference"),
                ),
                migrations.AlterField(
                    model_name="workorder",
                    name="suggested_category",
                    field=_category(SET_NULL, "suggested category"),
                ),
                *(
                    migrations.AddIndex(model_name="workorder", index=models.Index(fields=list(cols), name=name))
                    for name, cols in NEW.items()
                ),
            ],
        )
    ]
