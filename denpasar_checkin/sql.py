"""Single-row INSERTs compiled once per model and column set: what save() writes, without building a model.

Model(...).save() builds the instance, walks every field through the ORM's insert compiler and quotes every name
again on each call; on the check-in's hot path that cost more CPU than PostgreSQL spent on the INSERT itself.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

_INSERT_SQL: dict[tuple[type[models.Model], tuple[str, ...], str], tuple[str, list[models.Field]]] = {}


def _insert_sql(model: type[models.Model], names: tuple[str, ...]) -> tuple[str, list[models.Field]]:
    key = (model, names, connection.vendor)
    compiled = _INSERT_SQL.get(key)
    if compiled is None:
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [name for name in names if name not in by_attname]
        if unknown:
            raise TypeError(f"{model.__name__} has no column for {', '.join(unknown)}")
        pk = model._meta.pk
        fields = [
            f
            for f in model._meta.concrete_fields
            if f.attname in names or not (f is pk and isinstance(f, models.AutoField) or f.has_db_default())
        ]
        quote = connection.ops.quote_name
        returning, _params = connection.ops.return_insert_columns([pk]) or ("", ())
        # Names come from the model's metadata and values are bound parameters: nothing from a request is spliced.
        table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {returning}".rstrip()  # noqa: S608
        compiled = _INSERT_SQL[key] = (sql, fields)
    return compiled


def row_insert(model: type[models.Model], *, values: dict[str, Any]) -> Any:
    """INSERT one row of `model` and return its primary key.

    `values` are keyed by column attribute name (`person_id`, not `person`). Every other column gets what save()
    would give it: the field's default, or now for auto_now/auto_now_add. A model with save signals connected is
    saved through the ORM instead, so no receiver is ever skipped.
    """
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        return model.objects.create(**values).pk
    sql, fields = _insert_sql(model, tuple(sorted(values)))
    now = None
    params = []
    for field in fields:
        if field.attname in values:
            value = values[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            now = now or timezone.now()
            value = now
        else:
            value = field.get_default()
        params.append(field.get_db_prep_save(value, connection=connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid
