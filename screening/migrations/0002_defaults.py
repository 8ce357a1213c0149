"""A fresh database holds one restriction level, "no restriction" at 100 % for every sector, and the default policy."""

import datetime

from django.db import migrations


def create_defaults(apps, schema_editor):
    RestrictionLevel = apps.get_model("screening", "RestrictionLevel")
    ScreeningPolicy = apps.get_model("screening", "ScreeningPolicy")
    if not RestrictionLevel.objects.exists():
        RestrictionLevel.objects.create(
            level=0,
            name="Tanpa pembatasan",
            effective_from=datetime.date(2000, 1, 1),
            pct_kritikal=100,
            pct_esensial=100,
            pct_non_esensial=100,
        )
    ScreeningPolicy.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
