# Every existing entrance gets its own short code before the column becomes unique and required.

from django.db import migrations

from offices.short_codes import short_code_new


def short_codes_fill(apps, schema_editor):
    Entrance = apps.get_model("offices", "Entrance")
    taken = set(Entrance.objects.exclude(short_code=None).values_list("short_code", flat=True))
    for entrance in Entrance.objects.filter(short_code=None).only("id"):
        code = short_code_new()
        while code in taken:
            code = short_code_new()
        taken.add(code)
        Entrance.objects.filter(pk=entrance.pk).update(short_code=code)


class Migration(migrations.Migration):
    dependencies = [
        ("offices", "0002_entrance_short_code"),
    ]

    operations = [
        migrations.RunPython(short_codes_fill, migrations.RunPython.noop, elidable=True),
    ]
