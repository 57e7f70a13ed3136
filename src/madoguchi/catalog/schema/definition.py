"""Form definitions: the JSON a procedure version stores, as pydantic v2 models.

A definition is a list of sections, each a list of fields. Top-level field ids are one flat namespace
(the submission is a flat dict keyed by them), so they must be unique across *all* sections; the
fields of a repeating ``group`` form their own namespace per item.

``parse_definition`` is the only way in: it checks the JSON shape (unknown keys are refused, so a typo
such as ``"requird"`` fails loudly) and the cross-field rules (unique ids, ``show_if`` targets,
``prefill`` compatibility, ranges) and raises :class:`DefinitionError` with a message that names the
offending field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_GROUP_DEPTH = 3

FieldType = Literal[
    "text", "textarea", "kana", "date", "postal_code", "address", "phone", "email", "choice", "number",
    "money", "mynumber", "file", "boolean", "group",
]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]

PrefillKey = Literal[
    "resident.name", "resident.name_kana", "resident.birth_date", "resident.sex", "resident.postal_code",
    "resident.address",
]
#: which field types each prefill source may fill
PREFILL_TYPES: dict[str, frozenset[str]] = {
    "resident.name": frozenset({"text"}),
    "resident.name_kana": frozenset({"kana"}),
    "resident.birth_date": frozenset({"date"}),
    "resident.sex": frozenset({"choice"}),
    "resident.postal_code": frozenset({"postal_code"}),
    "resident.address": frozenset({"address", "text", "textarea"}),
}

DEFAULT_ACCEPT = ["application/pdf", "image/jpeg", "image/png"]
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

ScalarValue = bool | int | float | str


class DefinitionError(ValueError):
    """A form definition is malformed. The message is Japanese and names the field (by path)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ShowIf(_Model):
    """Show the field only when another field's *cleaned* value equals ``equals``.

    For a multiple choice the condition holds when ``equals`` is one of the selected values. The
    target is a sibling, or a field of an enclosing scope (top level for a field inside a group).
    """

    field: Annotated[str, Field(pattern=ID_PATTERN)]
    equals: ScalarValue


class ChoiceOption(_Model):
    value: Annotated[str, Field(min_length=1, max_length=100)]
    label: Annotated[str, Field(min_length=1, max_length=200)]


class _FieldBase(_Model):
    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    help: str | None = None
    required: bool = False
    prefill: PrefillKey | None = None
    show_if: ShowIf | None = None


class TextField(_FieldBase):
    type: Literal["text"]
    max_length: Annotated[int, Field(ge=1, le=100_000)] = 200
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        return _check_regex(value)


class TextareaField(_FieldBase):
    type: Literal["textarea"]
    max_length: Annotated[int, Field(ge=1, le=100_000)] = 2000
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        return _check_regex(value)


class KanaField(_FieldBase):
    type: Literal["kana"]
    max_length: Annotated[int, Field(ge=1, le=1000)] = 200


# "today", "today+30" / "today-14" (days from the day of submission), a fixed date, or no bound
DateBound = str | date | None
TODAY_BOUND = re.compile(r"^today(?:([+-])(\d{1,4}))?$")


def date_bound(bound: Any, today: date) -> date | None:
    """The date a ``min``/``max`` bound stands for on ``today``."""
    from datetime import timedelta

    if bound is None:
        return None
    if isinstance(bound, date):
        return bound
    m = TODAY_BOUND.match(str(bound))
    if m:
        days = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
        return today + timedelta(days=days)
    return date.fromisoformat(str(bound))


class DateField(_FieldBase):
    type: Literal["date"]
    min: DateBound = None
    max: DateBound = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _bound_shape(cls, value: Any) -> Any:
        if value is None or isinstance(value, date):
            return value
        if isinstance(value, str) and TODAY_BOUND.match(value):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return value
        raise ValueError('"today"、"today+30" のような相対日、"YYYY-MM-DD" 形式の日付、または null を指定してください')

    @model_validator(mode="after")
    def _range(self) -> DateField:
        if isinstance(self.min, date) and isinstance(self.max, date) and self.min > self.max:
            raise ValueError("min が max より後の日付です")
        return self


class PostalCodeField(_FieldBase):
    type: Literal["postal_code"]


class AddressField(_FieldBase):
    type: Literal["address"]
    max_length: Annotated[int, Field(ge=1, le=1000)] = 200


class PhoneField(_FieldBase):
    type: Literal["phone"]


class EmailField(_FieldBase):
    type: Literal["email"]


class ChoiceField(_FieldBase):
    type: Literal["choice"]
    options: Annotated[list[ChoiceOption], Field(min_length=1)]
    multiple: bool = False

    @field_validator("options")
    @classmethod
    def _unique_values(cls, options: list[ChoiceOption]) -> list[ChoiceOption]:
        seen: set[str] = set()
        for option in options:
            if option.value in seen:
                raise ValueError(f"選択肢の値 {option.value!r} が重複しています")
            seen.add(option.value)
        return options

    def label_for(self, value: str) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.label
        return None


class NumberField(_FieldBase):
    type: Literal["number"]
    min: int | float | None = None
    max: int | float | None = None
    integer: bool = True

    @model_validator(mode="after")
    def _range(self) -> NumberField:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min が max より大きくなっています")
        return self


class MoneyField(_FieldBase):
    type: Literal["money"]
    min: int = 0
    max: int | None = None

    @model_validator(mode="after")
    def _range(self) -> MoneyField:
        if self.max is not None and self.min > self.max:
            raise ValueError("min が max より大きくなっています")
        return self


class MyNumberField(_FieldBase):
    type: Literal["mynumber"]


class FileField(_FieldBase):
    type: Literal["file"]
    accept: Annotated[list[str], Field(min_length=1)] = Field(default_factory=lambda: list(DEFAULT_ACCEPT))
    max_bytes: Annotated[int, Field(ge=1)] = DEFAULT_MAX_BYTES
    multiple: bool = False
    max_files: Annotated[int, Field(ge=1, le=100)] = 10

    @field_validator("accept")
    @classmethod
    def _mime_shape(cls, accept: list[str]) -> list[str]:
        for mime in accept:
            if not re.fullmatch(r"[a-z0-9.+-]+/(\*|[a-z0-9.+-]+)", mime):
                raise ValueError(f"accept の MIME タイプ {mime!r} の形式が正しくありません")
        return accept

    def accepts(self, mime: str) -> bool:
        major = mime.split("/", 1)[0]
        return any(a == mime or (a.endswith("/*") and a[:-2] == major) for a in self.accept)


class BooleanField(_FieldBase):
    """A checkbox. ``required`` means it must be checked (e.g. 同意する / 宣誓)."""

    type: Literal["boolean"]


class GroupField(_FieldBase):
    """A repeating group (e.g. one item per 児童). The value is a list of dicts."""

    type: Literal["group"]
    fields: Annotated[list[AnyField], Field(min_length=1)]
    min_items: Annotated[int, Field(ge=0)] = 0
    max_items: Annotated[int, Field(ge=1, le=100)] = 10
    item_label: str | None = None

    @model_validator(mode="after")
    def _range(self) -> GroupField:
        if self.min_items > self.max_items:
            raise ValueError("min_items が max_items より大きくなっています")
        return self

    @property
    def item_title(self) -> str:
        return self.item_label or self.label


AnyField = Annotated[
    TextField | TextareaField | KanaField | DateField | PostalCodeField | AddressField | PhoneField
    | EmailField | ChoiceField | NumberField | MoneyField | MyNumberField | FileField | BooleanField
    | GroupField,
    Field(discriminator="type"),
]
GroupField.model_rebuild()


class Section(_Model):
    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    fields: Annotated[list[AnyField], Field(min_length=1)]


class FormDefinition(_Model):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    sections: Annotated[list[Section], Field(min_length=1)]

    def top_level_fields(self) -> Iterator[tuple[Section, Any]]:
        for section in self.sections:
            for f in section.fields:
                yield section, f

    def field(self, field_id: str) -> Any | None:
        """The top-level field with this id, or None."""
        for _, f in self.top_level_fields():
            if f.id == field_id:
                return f
        return None


def _check_regex(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"pattern が正しい正規表現ではありません: {exc}") from None
    return value


# ---------------------------------------------------------------- cross-field checks


def _check_scope(fields: Sequence[Any], where: str, outer: Sequence[Mapping[str, Any]], depth: int,
                 problems: list[str]) -> None:
    scope: dict[str, Any] = {}
    for f in fields:
        if f.id in scope:
            problems.append(f"{where}: 項目ID「{f.id}」が重複しています")
        scope[f.id] = f
    scopes = [scope, *outer]
    for f in fields:
        path = f"{where}.{f.id}" if where != "(フォーム)" else f.id
        if f.prefill is not None:
            if depth > 0:
                problems.append(f"{path}: prefill はグループの外の項目にだけ指定できます")
            elif f.type not in PREFILL_TYPES[f.prefill]:
                problems.append(f"{path}: prefill「{f.prefill}」は {f.type} 型の項目には使えません")
        if f.show_if is not None:
            _check_show_if(f, path, scopes, problems)
        if f.type == "group":
            if depth + 1 >= MAX_GROUP_DEPTH:
                problems.append(f"{path}: グループの入れ子が深すぎます（{MAX_GROUP_DEPTH}段まで）")
            else:
                _check_scope(f.fields, path, scopes, depth + 1, problems)
    _check_show_if_cycles(fields, where, problems)


def _check_show_if(f: Any, path: str, scopes: Sequence[Mapping[str, Any]], problems: list[str]) -> None:
    cond = f.show_if
    if cond.field == f.id:
        problems.append(f"{path}: show_if が自分自身を参照しています")
        return
    target = next((s[cond.field] for s in scopes if cond.field in s), None)
    if target is None:
        problems.append(f"{path}: show_if の参照先「{cond.field}」が見つかりません"
                        "（同じ階層か外側の項目のみ）")
        return
    if target.type == "group":
        problems.append(f"{path}: show_if でグループ「{cond.field}」は参照できません")
    elif target.type == "mynumber" or target.type == "file":
        problems.append(f"{path}: show_if で {target.type} 型の項目「{cond.field}」は参照できません")
    elif target.type == "choice":
        if not isinstance(cond.equals, str) or target.label_for(cond.equals) is None:
            problems.append(f"{path}: show_if.equals {cond.equals!r} は「{cond.field}」の選択肢にありません")
    elif target.type == "boolean":
        if not isinstance(cond.equals, bool):
            problems.append(f"{path}: show_if.equals は true か false にしてください"
                            f"（「{cond.field}」はチェック項目）")
    elif target.type in ("number", "money"):
        if isinstance(cond.equals, bool) or not isinstance(cond.equals, int | float):
            problems.append(f"{path}: show_if.equals は数値にしてください（「{cond.field}」は数値項目）")
    elif not isinstance(cond.equals, str):
        problems.append(f"{path}: show_if.equals は文字列にしてください（「{cond.field}」は文字項目）")


def _check_show_if_cycles(fields: Sequence[Any], where: str, problems: list[str]) -> None:
    deps = {f.id: f.show_if.field for f in fields if f.show_if is not None}
    for start in deps:
        seen = {start}
        current = deps.get(start)
        while current is not None:
            if current in seen:
                problems.append(f"{where}: show_if が循環しています（{start} → … → {current}）")
                return
            seen.add(current)
            current = deps.get(current)


def _format_pydantic(exc: ValidationError, data: Any) -> str:
    lines = []
    for err in exc.errors(include_url=False)[:10]:
        loc = _readable_loc(err.get("loc", ()), data)
        lines.append(f"{loc}: {err.get('msg', '')}")
    more = exc.error_count() - len(lines)
    if more > 0:
        lines.append(f"ほか {more} 件")
    return "様式定義が正しくありません: " + "; ".join(lines)


def _readable_loc(loc: Sequence[Any], data: Any) -> str:
    """('sections', 0, 'fields', 2, 'choice', 'options') → 'sections[0].fields[2](kids).options'."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out += f"({node['id']})"
        elif part in FIELD_TYPES and not (isinstance(node, dict) and part in node):
            continue  # the discriminator tag pydantic adds to the location
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(ルート)"


def parse_definition(data: Mapping[str, Any] | FormDefinition) -> FormDefinition:
    """Parse and check a form definition; raise :class:`DefinitionError` if it is not usable."""
    if isinstance(data, FormDefinition):
        return data
    if not isinstance(data, Mapping):
        raise DefinitionError(
            f"様式定義はオブジェクト（dict）である必要があります（{type(data).__name__} が渡されました）"
        )
    try:
        definition = FormDefinition.model_validate(dict(data))
    except ValidationError as exc:
        raise DefinitionError(_format_pydantic(exc, dict(data))) from None
    problems: list[str] = []
    section_ids: set[str] = set()
    for section in definition.sections:
        if section.id in section_ids:
            problems.append(f"セクションID「{section.id}」が重複しています")
        section_ids.add(section.id)
    top = [f for _, f in definition.top_level_fields()]
    _check_scope(top, "(フォーム)", [], 0, problems)
    if problems:
        raise DefinitionError("様式定義が正しくありません: " + "; ".join(problems))
    return definition


def dump_definition(definition: FormDefinition) -> dict[str, Any]:
    """The canonical JSON form (what a procedure version stores); ``parse_definition`` round-trips it."""
    return definition.model_dump(mode="json", exclude_none=True)
