"""Inserting many new rows of a model with PostgreSQL ``COPY`` (the batch importer's writes).

``rows_insert(model, objs)`` takes ids for the new rows from the table's own sequence (one query),
sets them on the objects and streams every concrete field with ``COPY … FROM STDIN``: the values go
through the fields' own ``pre_save`` / ``get_db_prep_save`` (``auto_now``, JSON, encryption as Django
would save them), without building one large parameterised statement. Other databases (the demo's
SQLite) use ``bulk_create``. Runs in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, connections, models
from django.db.models import AutoField, BigAutoField, Model, SmallAutoField

# Field classes whose Python value psycopg sends exactly as Django's save() would (no conversion hook);
# anything else (JSON, encrypted or custom fields, auto_now) goes through the field's own hooks.
PLAIN = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.SmallAutoField,
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
        models.BooleanField,
        models.DateField,
        models.DateTimeField,
        models.ForeignKey,
        models.OneToOneField,
    }
)

M = TypeVar("M", bound=Model)


def rows_insert(model: type[M], objs: Sequence[M]) -> Sequence[M]:
    """Insert ``objs`` (new rows) and set their primary keys; return them."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    table = meta.db_table
    pk = meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        if isinstance(pk, AutoField | BigAutoField | SmallAutoField):
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), pk.column, len(objs)],
            )
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
        fields = list(meta.concrete_fields)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        real = connections[connection.alias]  # not the proxy: looked up once, not per value
        # plain values (text, numbers, booleans, dates, aware datetimes, ids) go to psycopg as they are;
        # fields with a save hook (auto_now, JSON, …) go through Django as ``save()`` would send them
        hooks = [
            None
            if type(f) in PLAIN
            and not getattr(f, "auto_now", False)
            and not getattr(f, "auto_now_add", False)
            else f
            for f in fields
        ]
        names = [f.attname for f in fields]
        raw: Any = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [
                        getattr(obj, name)
                        if hook is None
                        else hook.get_db_prep_save(hook.pre_save(obj, True), real)
                        for name, hook in zip(names, hooks, strict=True)
                    ]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs
