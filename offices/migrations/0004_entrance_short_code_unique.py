# The short code is now required, unique and 8 Crockford base32 characters, checked by the database too.

import offices.short_codes
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("offices", "0003_entrance_short_code_fill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="entrance",
            name="short_code",
            field=models.CharField(
                default=offices.short_codes.short_code_new,
                editable=False,
                max_length=8,
                unique=True,
                verbose_name="short code",
            ),
        ),
        migrations.AddConstraint(
            model_name="entrance",
            constraint=models.CheckConstraint(
                condition=models.Q(("short_code__regex", "^[0-9A-HJKMNP-TV-Z]{8}$")),
                name="entrance_short_code_crockford",
            ),
        ),
    ]
