"""Rows for the staff 方式1 転記 page: every value of an application, in catalog order, ready to read
and to copy into the 基幹 system.

``display`` is what the clerk reads, ``copy`` what the copy button puts on the clipboard and
``copy_alt`` a second form (ISO date, option code, ``123-4567``). A 個人番号 is never in a row:
``display`` is the masked form, ``copy`` is empty and ``is_secret`` is true; revealing it is the job
of the audited view. Display never raises on odd stored data (an older version's shape, say): it
falls back to a plain string, and to ``●●●●`` for anything that looks like a secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from madoguchi.catalog.schema.definition import FormDefinition, parse_definition
from madoguchi.catalog.schema.engine import MISSING, SECRET_MARKER, _Scope, static_scope

EMPTY = "—"
SECRET_PLACEHOLDER = "●●●●"  # noqa: S105 - a mask, not a password


@dataclass(frozen=True)
class DisplayRow:
    section_title: str | None  # every row carries its section's title; None for values not in the form
    label: str
    path: str
    display: str
    copy: str
    kind: str  # the field type, "group_item" for a 「児童 1」 heading, "unknown" for extra stored keys
    depth: int
    is_secret: bool = False
    copy_alt: str = ""
    is_empty: bool = False


def display_rows(definition: FormDefinition, cleaned: Mapping[str, Any]) -> list[DisplayRow]:
    """All rows for ``cleaned`` (the stored data of an application). Hidden fields (their
    ``show_if`` not met) are left out; absent values show ``—``."""
    if not isinstance(definition, FormDefinition):
        definition = parse_definition(definition)
    values = cleaned if isinstance(cleaned, Mapping) else {}
    rows: list[DisplayRow] = []
    top = [f for _, f in definition.top_level_fields()]
    root = static_scope(top, values, None)
    for section in definition.sections:
        _rows(rows, section.title, section.fields, values, root, "", 0)
    known = {f.id for f in top}
    for key, value in values.items():
        if key in known:
            continue
        secret = _looks_secret(value)
        text = SECRET_PLACEHOLDER if secret else _plain(value)
        rows.append(DisplayRow(None, str(key), str(key), text, "" if secret else text, "unknown", 0,
                               is_secret=secret))
    return rows


def _rows(rows: list[DisplayRow], section_title: str, fields: Sequence[Any], values: Mapping[str, Any],
          scope: _Scope, prefix: str, depth: int) -> None:
    for f in fields:
        if not scope.visible(f.id):
            continue
        path = f"{prefix}.{f.id}" if prefix else f.id
        value = values.get(f.id, MISSING)
        if f.type == "group":
            items = value if isinstance(value, list) else []
            if not items:
                rows.append(DisplayRow(section_title, f.label, path, EMPTY, "", "group", depth,
                                       is_empty=True))
                continue
            for i, item in enumerate(items):
                item_values = item if isinstance(item, Mapping) else {}
                item_path = f"{path}[{i}]"
                heading = f"{f.item_title} {i + 1}"
                rows.append(DisplayRow(section_title, heading, item_path, "", "", "group_item", depth))
                child = static_scope(f.fields, item_values, scope)
                _rows(rows, section_title, f.fields, item_values, child, item_path, depth + 1)
            continue
        rows.append(_row(section_title, f, path, value, depth))


def _row(section_title: str, f: Any, path: str, value: Any, depth: int) -> DisplayRow:
    def row(display: str, copy: str, *, alt: str = "", secret: bool = False) -> DisplayRow:
        return DisplayRow(section_title, f.label, path, display, copy, f.type, depth,
                          is_secret=secret, copy_alt=alt)

    if f.type == "mynumber":
        if value is MISSING or value is None or value == "":
            return DisplayRow(section_title, f.label, path, EMPTY, "", f.type, depth,
                              is_secret=True, is_empty=True)
        masked = value.get("masked") if isinstance(value, Mapping) else None
        return row(masked if isinstance(masked, str) and masked else SECRET_PLACEHOLDER, "", secret=True)
    if value is MISSING or value is None or value == "" or value == []:
        return DisplayRow(section_title, f.label, path, EMPTY, "", f.type, depth, is_empty=True)
    if _looks_secret(value):
        return row(SECRET_PLACEHOLDER, "", secret=True)
    try:
        return _format(f, value, row)
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError):
        text = _plain(value)
        return row(text, text)


def _format(f: Any, value: Any, row: Any) -> DisplayRow:
    kind = f.type
    if kind == "date":
        from madoguchi.core.jp.wareki import to_wareki

        iso = value if isinstance(value, str) else value.isoformat()
        wareki = to_wareki(date.fromisoformat(iso))
        return row(wareki, wareki, alt=iso)
    if kind == "choice":
        codes = value if isinstance(value, list) else [value]
        labels = [f.label_for(str(c)) or str(c) for c in codes]
        return row("、".join(labels), "、".join(labels), alt=",".join(str(c) for c in codes))
    if kind == "boolean":
        text = "はい" if value is True else "いいえ" if value is False else _plain(value)
        return row(text, text)
    if kind == "money":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
        return row(f"{value:,}円", str(value))
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,g}"
        return row(shown, str(value))
    if kind == "postal_code":
        text = str(value)
        if len(text) == 7 and text.isdigit():
            return row(f"〒{text[:3]}-{text[3:]}", text, alt=f"{text[:3]}-{text[3:]}")
        return row(text, text)
    if kind == "file":
        refs = value if isinstance(value, list) else [value]
        names = [str(r["filename"]) for r in refs]
        return row("、".join(names), "、".join(names), alt=",".join(str(r.get("sha256", "")) for r in refs))
    if isinstance(value, str):
        return row(value, value)
    text = _plain(value)
    return row(text, text)


def _looks_secret(value: Any) -> bool:
    if isinstance(value, Mapping):
        return SECRET_MARKER in value or any(_looks_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_looks_secret(v) for v in value)
    return False


def _plain(value: Any) -> str:
    if value is None or value is MISSING:
        return EMPTY
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        return "、".join(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return "、".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)
