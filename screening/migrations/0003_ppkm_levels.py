"""PPKM levels 1-4 ready in every database, inactive (no effective date) until a city admin gives one a date.

The shares of building capacity per sector follow the Instruksi Menteri Dalam Negeri (Inmendagri) for Jawa-Bali,
where Denpasar is; an office's "capacity" here is everyone inside, so the work-from-office share is what counts:

- Level 4, Inmendagri 22/2021 (21 July 2021): non-essential 100 % work from home (0 % in the office); essential
  at most 50 % of staff (essential government public services 25 % WFO); critical 100 %.
- Level 3, Inmendagri 43/2021 (September 2021): non-essential at most 25 % WFO (vaccinated staff, PeduliLindungi
  at the door); essential 50 %; critical 100 %.
- Level 2, Inmendagri 57/2021 (November 2021): non-essential 50 % WFO; essential and critical operate, their office
  administration at 50 %: essential 75 % is the middle between the service sites and their back office.
- Level 1, Inmendagri 57/2021: non-essential 75 % WFO; essential and critical 100 % (office administration 75 %).

Later instructions moved these numbers (Inmendagri 13/2022: non-essential 25/50/75 % at levels 4/3/2): the city
admin edits the percentages before setting the date.
"""

from django.db import migrations, models

# (level, name, kritikal %, esensial %, non-esensial %)
PPKM_LEVELS = (
    (1, "PPKM Level 1", 100, 100, 75),
    (2, "PPKM Level 2", 100, 75, 50),
    (3, "PPKM Level 3", 100, 50, 25),
    (4, "PPKM Level 4", 100, 50, 0),
)


def create_levels(apps, schema_editor):
    RestrictionLevel = apps.get_model("screening", "RestrictionLevel")
    for level, name, kritikal, esensial, non_esensial in PPKM_LEVELS:
        # A city that already set up this level keeps its own row (and its date).
        if RestrictionLevel.objects.filter(level=level).exists():
            continue
        RestrictionLevel.objects.create(
            level=level,
            name=name,
            effective_from=None,
            pct_kritikal=kritikal,
            pct_esensial=esensial,
            pct_non_esensial=non_esensial,
        )


def remove_levels(apps, schema_editor):
    RestrictionLevel = apps.get_model("screening", "RestrictionLevel")
    # Only the untouched ones: a level a city admin has put in force is the city's now.
    RestrictionLevel.objects.filter(effective_from__isnull=True, name__in=[row[1] for row in PPKM_LEVELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("screening", "0002_defaults")]

    operations = [
        migrations.AlterField(
            model_name="restrictionlevel",
            name="effective_from",
            field=models.DateField(
                blank=True,
                help_text=(
                    "Empty: the level is inactive. From this date on it is in force, until a level with a later"
                    " date starts."
                ),
                null=True,
                unique=True,
                verbose_name="effective from",
            ),
        ),
        migrations.RunPython(create_levels, remove_levels),
    ]
