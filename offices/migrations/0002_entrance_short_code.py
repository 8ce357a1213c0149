# The short code, added empty first: a unique column cannot be added with one default for every existing row.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("offices", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="entrance",
            name="short_code",
            field=models.CharField(editable=False, max_length=8, null=True, verbose_name="short code"),
        ),
    ]
