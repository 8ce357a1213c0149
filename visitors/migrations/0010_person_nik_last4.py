# The NIK's last four digits in the clear, for the officer to check a KTP against; existing people get theirs from
# the encrypted copy, read back this once so that the screens never need to decrypt.

from django.db import migrations, models

from denpasar_checkin.nik import nik_decrypt

BATCH = 1000


def _last4(nik_encrypted: str, nik_masked: str) -> str:
    try:
        nik = nik_decrypt(nik_encrypted)
    except ValueError:
        # A copy under a retired key: the masked form keeps the same four digits.
        nik = nik_masked
    last4 = nik[-4:]
    return last4 if len(last4) == 4 and last4.isdigit() else ""


def nik_last4_fill(apps, schema_editor):
    Person = apps.get_model("visitors", "Person")
    batch = []
    for person in Person.objects.filter(nik_last4="").only("id", "nik_encrypted", "nik_masked").iterator(BATCH):
        person.nik_last4 = _last4(person.nik_encrypted, person.nik_masked)
        if person.nik_last4:
            batch.append(person)
        if len(batch) >= BATCH:
            Person.objects.bulk_update(batch, ["nik_last4"])
            batch = []
    if batch:
        Person.objects.bulk_update(batch, ["nik_last4"])


class Migration(migrations.Migration):
    dependencies = [
        ("visitors", "0009_scan_resolution_expired"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="nik_last4",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=4, verbose_name="NIK's last four digits"
            ),
        ),
        migrations.RunPython(nik_last4_fill, migrations.RunPython.noop, elidable=True),
    ]
