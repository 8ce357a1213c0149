# A pending case nobody answered in time (or that the person's admission elsewhere settled) is closed as expired.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("visitors", "0008_scan_alert_notified"),
    ]

    operations = [
        migrations.AlterField(
            model_name="scanevent",
            name="resolution",
            field=models.CharField(
                blank=True,
                choices=[("approved", "Approved"), ("denied", "Denied"), ("expired", "Expired")],
                max_length=8,
                verbose_name="resolution",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="scanevent",
            name="scan_resolution_consistent",
        ),
        migrations.AddConstraint(
            model_name="scanevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("resolved_at__isnull", True), ("resolution", "")),
                    models.Q(("resolved_at__isnull", False), ("resolution__in", ["approved", "denied", "expired"])),
                    _connector="OR",
                ),
                name="scan_resolution_consistent",
            ),
        ),
    ]
