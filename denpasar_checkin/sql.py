"""Raw SQL helpers for the check-in's hot path: INSERTs without building models, and prepared statements.

Model(...).save() builds the instance, walks every field through the ORM's insert compiler and quotes every name
again on each call; on the check-in's hot path that cost more CPU than PostgreSQL spent on the INSERT itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

_SHAPES: dict[tuple[type[models.Model], tuple[str, ...], str], tuple[list[models.Field], str, str]] = {}


def _db() -> Any:
    """The default database's connection object itself. `django.db.connection` is a proxy that looks the connection
    up again (a context-local read) on every attribute; the hot path here touches it a few dozen times per INSERT."""
    return connections[DEFAULT_DB_ALIAS]


def _insert_shape(model: type[models.Model], names: tuple[str, ...], db: Any) -> tuple[list[models.Field], str, str]:
    """The columns an INSERT with these values writes (the given ones and every other one save() would fill),
    with the quoted table name and column list; worked out once per model, column set and database."""
    key = (model, names, db.vendor)
    shape = _SHAPES.get(key)
    if shape is None:
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [name for name in names if name not in by_attname]
        if unknown:
            raise TypeError(f"{model.__name__} has no column for {', '.join(unknown)}")
        fields = [f for f in model._meta.concrete_fields if f.attname in names or not _database_fills(model, f)]
        quote = db.ops.quote_name
        shape = _SHAPES[key] = (fields, quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields))
    return shape


def _database_fills(model: type[models.Model], field: models.Field) -> bool:
    """Whether leaving the column out of an INSERT stores what save() would: the serial primary key, a database
    default, or NULL for a nullable column with no default (the table has no default of its own then). Each column
    left out is one parameter fewer to convert and send on every check-in."""
    if field is model._meta.pk and isinstance(field, models.AutoField):
        return True
    if field.has_db_default():
        return True
    auto_now = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    return field.null and not field.has_default() and not auto_now


def _saved_value(field: models.Field, values: dict[str, Any], now: list, db: Any) -> Any:
    if field.attname in values:
        value = values[field.attname]
    elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        if not now:
            now.append(timezone.now())
        value = now[0]
    else:
        value = field.get_default()
    return field.get_db_prep_save(value, connection=db)


def insert_select_parts(
    model: type[models.Model], *, values: dict[str, Any], expressions: dict[str, tuple[str, list]] | None = None
) -> tuple[str, str, str, list]:
    """(table, column list, select list, params) for `INSERT INTO table (columns) SELECT select-list FROM ...`.

    For a caller that writes several rows in one statement (PostgreSQL data-modifying CTEs). `values` are Python
    values keyed by attribute name, as for row_insert; `expressions` give some columns as SQL with their own
    parameters instead (a CTE's column, a CASE). Params come in select-list order.
    """
    expressions = expressions or {}
    db = _db()
    fields, table, columns = _insert_shape(model, tuple(sorted([*values, *expressions])), db)
    select: list[str] = []
    params: list = []
    now: list = []
    for field in fields:
        if field.attname in expressions:
            sql, expression_params = expressions[field.attname]
            select.append(sql)
            params.extend(expression_params)
        else:
            select.append("%s")
            params.append(_saved_value(field, values, now, db))
    return table, columns, ", ".join(select), params


def row_insert(model: type[models.Model], *, values: dict[str, Any]) -> Any:
    """INSERT one row of `model` and return its primary key.

    `values` are keyed by column attribute name (`person_id`, not `person`). Every other column gets what save()
    would give it: the field's default, or now for auto_now/auto_now_add. A model with save signals connected is
    saved through the ORM instead, so no receiver is ever skipped.
    """
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        return model.objects.create(**values).pk
    table, columns, placeholders, params = insert_select_parts(model, values=values)
    db = _db()
    returning, _params = db.ops.return_insert_columns([model._meta.pk]) or ("", ())
    with db.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {returning}".rstrip(), params)  # noqa: S608
        if db.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid


class PreparingCursor(psycopg.Cursor):
    """Server-side binding, and every statement prepared on first use on its connection."""

    def execute(self, query, params=None, *, prepare=None, binary=None):  # noqa: ANN001, ANN202 - psycopg's
        return super().execute(query, params, prepare=True, binary=binary)


class _PreparedDebugWrapper(CursorDebugWrapper):
    def execute(self, sql, params=None):  # noqa: ANN001, ANN202 - Django's
        # psycopg keeps no query text for a prepared execution: log the statement with its values bound on the
        # client, as Django's own queries are logged.
        with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
            return CursorWrapper.execute(self, sql, params)


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A cursor for a few hot, fixed statements: on PostgreSQL each is planned once per connection and then only
    executed (planning was most of PostgreSQL's work for the check-in's entrance read). Anywhere else, or with
    DB_PREPARED_STATEMENTS off (which leaves prepare_threshold unset), Django's ordinary cursor.

    Still wrapped by Django: queries are logged and counted, errors are Django's, execute wrappers apply.
    """
    db = _db()
    options = db.settings_dict.get("OPTIONS", {})
    if db.vendor != "postgresql" or options.get("prepare_threshold") is None:
        with db.cursor() as cursor:
            yield cursor
        return
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw = PreparingCursor(db.connection)
    wrapper = _PreparedDebugWrapper if db.queries_logged else CursorWrapper
    with wrapper(raw, db) as cursor:
        yield cursor
