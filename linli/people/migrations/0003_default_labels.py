from django.db import migrations

LABELS = [
    ("living_alone", "独居", "Living alone", True),
    ("empty_nest", "空巢", "Empty nest", True),
    ("disabled", "残疾", "Disabled", True),
    ("dibao", "低保", "Subsistence allowance", True),
    ("youfu", "优抚对象", "Special care (优抚)", False),
    ("party_member", "党员", "Party member", False),
    ("league_member", "团员", "League member", False),
    ("veteran", "退役军人", "Veteran", False),
    ("key_care", "重点关爱", "Key care", True),
    ("left_behind_child", "留守儿童", "Left-behind child", True),
    ("severe_illness", "大病", "Serious illness", True),
]


def create_labels(apps, schema_editor):
    Label = apps.get_model("people", "Label")
    for code, zh, en, care in LABELS:
        Label.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en, "care": care})


class Migration(migrations.Migration):
    dependencies = [("people", "0002_initial")]
    operations = [migrations.RunPython(create_labels, migrations.RunPython.noop)]
