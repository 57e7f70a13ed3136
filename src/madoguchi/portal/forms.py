"""Forms from the catalog schema, for residents: what each field renders as, how a posted step becomes
raw input again, and how a 個人番号 stays sealed in a draft.

No form is hand-coded: every field comes from the procedure's ``FormDefinition``; validation is the one
schema engine (``catalog.schema.validate_submission``) the back office and the intake use.

HTML names are the field paths of the engine's errors (``children[0].child_name``), so an error lands
next to its field; dates are posted as parts (``<path>__era``, ``__year``, ``__month``, ``__day``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from madoguchi.catalog.schema import FormDefinition, Section
from madoguchi.core.crypto import decrypt, encrypt, mask

SEALED = "__sealed__"
ERAS = ("令和", "平成", "昭和", "大正", "明治")
SEIREKI = "西暦"
RADIO_MAX = 6
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

_WAREKI_RE = re.compile(r"^(令和|平成|昭和|大正|明治)(\d{1,2}|元)年(\d{1,2})月(\d{1,2})日$")
_ISO_RE = re.compile(r"^(\d{1,4})-(\d{1,2})-(\d{1,2})$")


# ------------------------------------------------------------------ 個人番号: sealed at rest
def _map_secrets(fields: Sequence[Any], values: Any, fn: Any) -> Any:
    if not isinstance(values, Mapping):
        return values
    out = dict(values)
    for f in fields:
        if f.id not in out:
            continue
        if f.type == "mynumber":
            out[f.id] = fn(out[f.id])
        elif f.type == "group" and isinstance(out[f.id], list):
            out[f.id] = [_map_secrets(f.fields, item, fn) for item in out[f.id]]
    return out


def seal(definition: FormDefinition, data: Mapping[str, Any]) -> dict[str, Any]:
    """Replace every typed 個人番号 by its ciphertext and a mask (what a draft stores)."""

    def one(value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            digits = re.sub(r"\D", "", value)
            return {SEALED: encrypt(value.strip()), "masked": mask(digits) if len(digits) >= 4 else "****"}
        return value

    return _map_secrets([f for _, f in definition.top_level_fields()], data, one)


def unseal(definition: FormDefinition, data: Mapping[str, Any]) -> dict[str, Any]:
    """The plain input again, in memory only (for validation and signing)."""

    def one(value: Any) -> Any:
        if isinstance(value, Mapping) and SEALED in value:
            return decrypt(str(value[SEALED]))
        return value

    return _map_secrets([f for _, f in definition.top_level_fields()], data, one)


# ------------------------------------------------------------------ rendering
@dataclass
class FieldView:
    f: Any
    path: str
    html_id: str
    widget: str
    value: Any = ""
    errors: list[str] = field(default_factory=list)
    hidden: bool = False
    show_if_name: str = ""
    show_if_equals: str = ""
    show_if_label: str = ""
    options: list[tuple[str, str, bool]] = field(default_factory=list)
    date_parts: dict[str, Any] = field(default_factory=dict)
    masked: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)
    items: list[list[FieldView]] = field(default_factory=list)
    address_target: str = ""
    required: bool = False

    @property
    def describedby(self) -> str:
        ids = []
        if self.f.help:
            ids.append(f"{self.html_id}-help")
        if self.errors:
            ids.append(f"{self.html_id}-error")
        return " ".join(ids)

    @property
    def label(self) -> str:
        return str(self.f.label)

    @property
    def item_title(self) -> str:
        return str(getattr(self.f, "item_title", self.f.label))

    @property
    def can_add(self) -> bool:
        return self.widget == "group" and len(self.items) < self.f.max_items

    @property
    def accept(self) -> str:
        return ",".join(getattr(self.f, "accept", []))


def html_id(path: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)


def _widget(f: Any) -> str:
    if f.type == "choice":
        if f.multiple:
            return "checkboxes"
        return "radio" if len(f.options) <= RADIO_MAX else "select"
    return {
        "text": "text", "textarea": "textarea", "kana": "text", "date": "date", "postal_code": "postal",
        "address": "text", "phone": "tel", "email": "email", "number": "number", "money": "number",
        "mynumber": "mynumber", "file": "file", "boolean": "checkbox", "group": "group",
    }[f.type]


def date_parts(raw: Any) -> dict[str, Any]:
    """Split a stored date input into era / year / month / day for the inputs (和暦 by default)."""
    text = str(raw or "").strip()
    m = _WAREKI_RE.match(text)
    if m:
        year = "1" if m.group(2) == "元" else m.group(2)
        return {"era": m.group(1), "year": year, "month": m.group(3), "day": m.group(4)}
    m = _ISO_RE.match(text)
    if m:
        y, mo, d = (int(x) for x in m.groups())
        try:
            from madoguchi.core.jp.wareki import to_wareki_parts

            era, era_year = to_wareki_parts(date(y, mo, d))
            return {"era": era, "year": str(era_year), "month": str(mo), "day": str(d)}
        except ValueError:
            return {"era": SEIREKI, "year": str(y), "month": str(mo), "day": str(d)}
    return {"era": "令和", "year": "", "month": "", "day": ""}


def _raw_matches(raw: Any, equals: Any) -> bool:
    if raw is None or raw == "":
        return False
    if isinstance(raw, list):
        return any(_raw_matches(r, equals) for r in raw)
    if isinstance(equals, bool):
        return bool(raw in (True, "on", "true", "1")) == equals
    if isinstance(equals, int | float):
        try:
            return float(str(raw).replace(",", "")) == float(equals)
        except ValueError:
            return False
    return str(raw) == str(equals)


def _condition_text(target: Any, equals: Any) -> str:
    if target.type == "choice":
        shown = target.label_for(str(equals)) or str(equals)
    elif isinstance(equals, bool):
        shown = "チェックあり" if equals else "チェックなし"
    else:
        shown = str(equals)
    return f"「{target.label}」が「{shown}」の場合"


def build_views(
    fields: Sequence[Any],
    values: Mapping[str, Any],
    errors: Mapping[str, list[str]],
    *,
    prefix: str = "",
    outer: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], str]] = (),
) -> list[FieldView]:
    """One view per field of a scope (a section's fields, or one group item)."""
    values = values if isinstance(values, Mapping) else {}
    by_id = {f.id: f for f in fields}
    scopes = [(by_id, values, prefix), *outer]
    views: list[FieldView] = []
    last_address: dict[str, str] = {}
    for f in fields:
        path = f"{prefix}.{f.id}" if prefix else f.id
        view = FieldView(f=f, path=path, html_id=html_id(path), widget=_widget(f), required=bool(f.required))
        view.errors = [*errors.get(path, [])]
        raw = values.get(f.id)
        if f.show_if is not None:
            for scope_fields, scope_values, scope_prefix in scopes:
                if f.show_if.field in scope_fields:
                    target = scope_fields[f.show_if.field]
                    view.show_if_name = (
                        f"{scope_prefix}.{target.id}" if scope_prefix else target.id
                    )
                    equals = f.show_if.equals
                    view.show_if_equals = ("true" if equals else "false") if isinstance(equals, bool) else str(equals)
                    view.show_if_label = _condition_text(target, equals)
                    view.hidden = not _raw_matches(scope_values.get(target.id), equals)
                    break
        if f.type == "choice":
            chosen = raw if isinstance(raw, list) else ([raw] if raw not in (None, "") else [])
            view.options = [(o.value, o.label, o.value in [str(c) for c in chosen]) for o in f.options]
        elif f.type == "date":
            view.date_parts = date_parts(raw)
        elif f.type == "mynumber":
            if isinstance(raw, Mapping) and SEALED in raw:
                view.masked = str(raw.get("masked", "****"))
        elif f.type == "file":
            refs = raw if isinstance(raw, list) else ([raw] if isinstance(raw, Mapping) else [])
            view.files = [dict(r) for r in refs if isinstance(r, Mapping)]
        elif f.type == "boolean":
            view.value = raw in (True, "on", "true", "1")
        elif f.type == "group":
            items = raw if isinstance(raw, list) else []
            view.items = [
                build_views(f.fields, item, errors, prefix=f"{path}[{i}]", outer=scopes)
                for i, item in enumerate(items)
            ]
        else:
            view.value = "" if raw is None else raw
        if f.type == "address":
            last_address[f.id] = view.html_id
        views.append(view)
    # a postal code fills the address field that follows it in the same scope
    for i, view in enumerate(views):
        if view.widget == "postal":
            for later in views[i + 1 :]:
                if later.f.type == "address":
                    view.address_target = later.html_id
                    break
    return views


# ------------------------------------------------------------------ parsing a posted step
@dataclass
class Posted:
    values: dict[str, Any]
    upload_errors: dict[str, list[str]]
    action: str = ""


def _date_from_parts(post: Mapping[str, Any], path: str) -> str | None:
    era = str(post.get(f"{path}__era", "") or "").strip()
    year = str(post.get(f"{path}__year", "") or "").strip()
    month = str(post.get(f"{path}__month", "") or "").strip()
    day = str(post.get(f"{path}__day", "") or "").strip()
    if not (year or month or day):
        return None
    if era == SEIREKI:
        return f"{year}-{month.zfill(2)}-{day.zfill(2)}"
    if era not in ERAS:
        era = "令和"
    return f"{era}{year}年{month}月{day}日"


def parse_fields(
    fields: Sequence[Any],
    post: Any,
    files: Any,
    previous: Mapping[str, Any],
    *,
    prefix: str = "",
    store_file: Any,
    upload_errors: dict[str, list[str]],
) -> dict[str, Any]:
    """Raw values of ``fields`` from a POST (a QueryDict), keeping what the form never re-shows
    (a sealed 個人番号, already attached files) from ``previous``."""
    previous = previous if isinstance(previous, Mapping) else {}
    out: dict[str, Any] = {}
    for f in fields:
        path = f"{prefix}.{f.id}" if prefix else f.id
        old = previous.get(f.id)
        if f.type == "date":
            value = _date_from_parts(post, path)
            if value is not None:
                out[f.id] = value
        elif f.type == "choice" and f.multiple:
            chosen = [str(v) for v in post.getlist(path)]
            if chosen:
                out[f.id] = chosen
        elif f.type == "boolean":
            if post.get(path) in ("on", "true", "1"):
                out[f.id] = True
        elif f.type == "mynumber":
            typed = str(post.get(path, "") or "").strip()
            if typed:
                out[f.id] = typed
            elif isinstance(old, Mapping) and SEALED in old and not post.get(f"{path}__clear"):
                out[f.id] = old
        elif f.type == "file":
            kept = old if isinstance(old, list) else ([old] if isinstance(old, Mapping) else [])
            removed = set(post.getlist(f"{path}__remove"))
            kept = [r for r in kept if isinstance(r, Mapping) and r.get("sha256") not in removed]
            for upload in files.getlist(path):
                ref = _store_upload(upload, store_file, upload_errors, path)
                if ref is not None:
                    kept = [*kept, ref] if f.multiple else [ref]
            if kept:
                out[f.id] = kept if f.multiple else kept[-1]
        elif f.type == "group":
            old_items = old if isinstance(old, list) else []
            try:
                count = int(post.get(f"{path}__count", len(old_items)))
            except (TypeError, ValueError):
                count = len(old_items)
            count = max(0, min(count, f.max_items))
            items = [
                parse_fields(
                    f.fields, post, files, old_items[i] if i < len(old_items) else {},
                    prefix=f"{path}[{i}]", store_file=store_file, upload_errors=upload_errors,
                )
                for i in range(count)
            ]
            if items:
                out[f.id] = items
        else:
            value = post.get(path)
            if value is not None and str(value).strip() != "":
                out[f.id] = str(value)
    return out


def _store_upload(upload: UploadedFile, store_file: Any, errors: dict[str, list[str]], path: str) -> Any:
    from madoguchi.core.errors import AttachmentRejected

    name = upload.name or "file"
    if (upload.size or 0) > MAX_UPLOAD_BYTES:
        errors.setdefault(path, []).append(f"「{name}」は大きすぎます。")
        return None
    try:
        stored = store_file(content=upload.read(), filename=name, declared_mime=upload.content_type)
    except AttachmentRejected as exc:
        errors.setdefault(path, []).append(f"{exc.message}【{exc.code}】")
        return None
    return {"sha256": stored.sha256, "filename": stored.filename, "mime": stored.mime, "size": stored.size}


def group_action(definition: FormDefinition, data: dict[str, Any], action: str) -> bool:
    """Apply ``add:<path>`` / ``remove:<path>[i]`` to a repeating group; True if something changed."""
    kind, _, target = action.partition(":")
    if kind not in {"add", "remove"} or not target:
        return False
    m = re.fullmatch(r"(.+)\[(\d+)\]", target) if kind == "remove" else None
    group_path, index = (m.group(1), int(m.group(2))) if m else (target, -1)
    container, f = _resolve_group(definition, data, group_path)
    if container is None or f is None:
        return False
    items = container.get(f.id)
    items = list(items) if isinstance(items, list) else []
    if kind == "add":
        if len(items) >= f.max_items:
            return False
        items.append({})
    else:
        if not 0 <= index < len(items):
            return False
        items.pop(index)
    container[f.id] = items
    return True


def _resolve_group(definition: FormDefinition, data: dict[str, Any], path: str) -> tuple[Any, Any]:
    parts = re.findall(r"([a-z][a-z0-9_]*)(?:\[(\d+)\])?", path)
    fields = [f for _, f in definition.top_level_fields()]
    container: Any = data
    f: Any = None
    for n, (fid, idx) in enumerate(parts):
        f = next((x for x in fields if x.id == fid), None)
        if f is None or f.type != "group":
            return None, None
        if n == len(parts) - 1:
            return (container if idx == "" else None), f
        items = container.get(fid) if isinstance(container, dict) else None
        if not isinstance(items, list) or idx == "" or int(idx) >= len(items):
            return None, None
        container = items[int(idx)]
        fields = f.fields
    return None, None


def section_field_ids(section: Section) -> set[str]:
    return {f.id for f in section.fields}


def errors_for(errors: Sequence[Any], ids: set[str]) -> dict[str, list[str]]:
    """Field errors (engine FieldError) whose top-level field is one of ``ids``, by path."""
    out: dict[str, list[str]] = {}
    for err in errors:
        root = re.split(r"[.\[]", err.path, maxsplit=1)[0]
        if root in ids:
            out.setdefault(err.path, []).append(f"{err.message}")
    return out
