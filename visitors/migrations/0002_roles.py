"""The four roles as Django groups with their model permissions (object scoping is done in code)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ALL = ("add", "change", "delete", "view")
VIEW = ("view",)

ROLE_PERMISSIONS = {
    "Petugas": {
        "offices": {"office": VIEW, "entrance": VIEW, "officeoccupancy": VIEW},
        "visitors": {"visit": VIEW, "scanevent": VIEW},
    },
    "Admin Kantor": {
        "offices": {
            "office": ("change", "view"),
            "entrance": ALL,
            "staff": ALL,
            "officerassignment": ALL,
            "officeoccupancy": VIEW,
            "auditevent": VIEW,
        },
        "screening": {"restrictionlevel": VIEW},
        "visitors": {"visit": VIEW, "scanevent": VIEW},
    },
    "Admin Kota": {
        "offices": {
            "office": ALL,
            "entrance": ALL,
            "staff": ALL,
            "officerassignment": ALL,
            "officeoccupancy": VIEW,
            "auditevent": VIEW,
        },
        "screening": {"restrictionlevel": ALL, "screeningpolicy": ("change", "view")},
        "visitors": {"visit": VIEW, "scanevent": VIEW},
    },
    "Satgas": {
        "offices": {"office": VIEW, "auditevent": VIEW},
        "screening": {"healthstatus": ALL, "screeningpolicy": VIEW, "restrictionlevel": VIEW},
        "visitors": {"person": VIEW, "visit": VIEW, "scanevent": VIEW},
    },
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate finishes; make them exist now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, by_app in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for app_label, by_model in by_app.items():
            for model, actions in by_model.items():
                for action in actions:
                    wanted.append(
                        Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}")
                    )
        group.permissions.set(wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("offices", "0001_initial"),
        ("screening", "0002_defaults"),
        ("visitors", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
