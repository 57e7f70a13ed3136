"""Validating and cleaning a submission against a :class:`FormDefinition`.

``validate_submission`` never raises on bad *data* (anything JSON-like, or worse): every problem is a
:class:`FieldError` with a stable ``code``, a dotted ``path`` (``children[0].birth_date``, 0-based) and
a Japanese message that names the field. No message ever repeats the submitted value, so a 個人番号
typed into the wrong place cannot leak through an error.

Cleaning rules (what ``SubmissionResult.cleaned`` holds), by field type:

=============  ================================================================================
text/textarea  stripped, NFC (CJK compatibility ideographs — 異体字 — are kept as typed); nothing
               else is rewritten. With a ``pattern``, 全角英数字 are narrowed only if that is what
               makes the value match. Textarea line breaks become ``\\n``.
kana           全角カタカナ (via ``to_katakana``), then checked with ``is_katakana_name``
date           ISO ``YYYY-MM-DD`` (input ISO, ``2019/5/1``, 和暦, 全角)
postal_code    7 ASCII digits
phone          as typed, 全角 narrowed and dash variants made ``-``; 10–11 digits starting with 0
email          as typed (全角 narrowed)
choice         the option value (``str``); a list in option order for ``multiple``
number         ``int`` (``float`` when ``integer`` is false)
money          ``int`` yen; accepts ``'１２,０００'``, ``'¥12,000'``, ``'12000円'``
boolean        ``True`` / ``False``
mynumber       ``{"$enc": <Fernet token>, "masked": "●●●●●●●●9012"}``
file           ``{"sha256", "filename", "mime", "size"}`` (a list when ``multiple``)
group          list of dicts, each cleaned recursively (item positions are kept)
=============  ================================================================================

Empty values (``''``, ``None``, ``[]``, whitespace) of optional fields and every hidden field
(``show_if`` false) are left out of ``cleaned``; keys that are not in the definition are errors.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from madoguchi.catalog.schema.definition import FormDefinition, Section, parse_definition

JST = ZoneInfo("Asia/Tokyo")

ERROR_CODES: frozenset[str] = frozenset({
    "form.required", "form.too_long", "form.pattern", "form.kana_invalid", "form.date_invalid",
    "form.date_too_early", "form.date_too_late", "form.postal_invalid", "form.phone_invalid",
    "form.email_invalid", "form.choice_invalid", "form.number_invalid", "form.number_range",
    "form.money_invalid", "form.mynumber_invalid", "form.file_type", "form.file_too_large",
    "form.file_invalid", "form.group_count", "form.unknown_field", "form.type",
})

SECRET_MARKER = "$enc"  # noqa: S105 - the key of an encrypted value, not a password


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldError:
    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass
class SubmissionResult:
    cleaned: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_by_path(self) -> dict[str, list[FieldError]]:
        out: dict[str, list[FieldError]] = {}
        for err in self.errors:
            out.setdefault(err.path, []).append(err)
        return out


# ---------------------------------------------------------------- walking the definition


def walk_fields(definition: FormDefinition) -> Iterator[tuple[Section, Any, int]]:
    """Yield ``(section, field, depth)`` for every field in catalog order; group members follow
    their group at ``depth + 1``."""

    def walk(section: Section, fields: Sequence[Any], depth: int) -> Iterator[tuple[Section, Any, int]]:
        for f in fields:
            yield section, f, depth
            if f.type == "group":
                yield from walk(section, f.fields, depth + 1)

    for section in definition.sections:
        yield from walk(section, section.fields, 0)


# ---------------------------------------------------------------- text helpers

_COMPAT_IDEOGRAPHS = re.compile("[\uf900-\ufaff\U0002f800-\U0002fa1f]+")
_FULLWIDTH_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\u2500\ufe63"
_DASH_TABLE = {ord(c): "-" for c in _DASHES}


def nfc_keep_variants(text: str) -> str:
    """NFC, except CJK compatibility ideographs (U+F900–FAFF, U+2F800–2FA1F), which NFC would turn
    into their unified forms (神 → 神): those are 異体字 a resident chose on purpose and stay."""
    if text.isascii():
        return text
    out: list[str] = []
    pos = 0
    for m in _COMPAT_IDEOGRAPHS.finditer(text):
        out.append(unicodedata.normalize("NFC", text[pos:m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(unicodedata.normalize("NFC", text[pos:]))
    return "".join(out)


def narrow(text: str) -> str:
    """全角 ASCII (and the ideographic space) → ASCII. Nothing else changes."""
    return text.translate(_FULLWIDTH_ASCII)


def _bad_chars(text: str, *, multiline: bool) -> bool:
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cs":
            return True
        if cat == "Cc" and not (multiline and ch in "\n\t"):
            return True
    return False


def _is_empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple):
        return len(raw) == 0
    return False


# ---------------------------------------------------------------- visibility (show_if)


def condition_matches(value: Any, equals: Any) -> bool:
    """Does a cleaned value satisfy ``show_if.equals``? Lists (multiple choice) match by membership."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, list):
        return any(condition_matches(v, equals) for v in value)
    if isinstance(value, bool) != isinstance(equals, bool):
        return False
    return bool(value == equals)


class _Scope:
    """One level of fields (the form's top level, or one group item) and how to get their values."""

    def __init__(self, fields: Sequence[Any], parent: _Scope | None,
                 value_of: Callable[[Any], Any]) -> None:
        self.fields = {f.id: f for f in fields}
        self.order = list(fields)
        self.parent = parent
        self._value_of = value_of
        self._values: dict[str, Any] = {}
        self._visible: dict[str, bool] = {}
        self._visiting: set[str] = set()

    def value(self, fid: str) -> Any:
        if fid not in self._values:
            self._values[fid] = self._value_of(self.fields[fid])
        return self._values[fid]

    def resolve(self, fid: str) -> tuple[_Scope, Any] | None:
        scope: _Scope | None = self
        while scope is not None:
            if fid in scope.fields:
                return scope, scope.fields[fid]
            scope = scope.parent
        return None

    def visible(self, fid: str) -> bool:
        if fid in self._visible:
            return self._visible[fid]
        cond = self.fields[fid].show_if
        if cond is None:
            result = True
        elif fid in self._visiting:  # a cycle (only possible with an unchecked definition): hide
            return False
        else:
            self._visiting.add(fid)
            try:
                found = self.resolve(cond.field) if cond.field != fid else None
                if found is None:
                    result = False
                else:
                    scope, target = found
                    result = scope.visible(target.id) and condition_matches(
                        scope.value(target.id), cond.equals
                    )
            finally:
                self._visiting.discard(fid)
        self._visible[fid] = result
        return result


def static_scope(fields: Sequence[Any], values: Mapping[str, Any], parent: _Scope | None) -> _Scope:
    """A scope over already-cleaned values (used by the display layer)."""
    source = values if isinstance(values, Mapping) else {}
    return _Scope(fields, parent, lambda f: source.get(f.id, MISSING))


# ---------------------------------------------------------------- the cleaning run


@dataclass
class _Ctx:
    path: str
    where: str  # 「氏名」 or 「児童 2」の「氏名」, used in messages
    errors: list[FieldError]

    def fail(self, code: str, message: str, *, path: str | None = None) -> Any:
        self.errors.append(FieldError(path if path is not None else self.path, code, message))
        return MISSING


class _Run:
    def __init__(self, today: date) -> None:
        self.today = today

    # -- scopes

    def clean_scope(self, fields: Sequence[Any], data: Mapping[Any, Any], prefix: str, title: str,
                    parent: _Scope | None, errors: list[FieldError]) -> dict[str, Any]:
        results: dict[str, tuple[Any, list[FieldError]]] = {}

        def value_of(f: Any) -> Any:
            local: list[FieldError] = []
            path = f"{prefix}.{f.id}" if prefix else f.id
            where = f"「{title}」の「{f.label}」" if title else f"「{f.label}」"
            value = self.clean_field(f, data.get(f.id), _Ctx(path, where, local), scope)
            results[f.id] = (value, local)
            return value

        scope = _Scope(fields, parent, value_of)
        cleaned: dict[str, Any] = {}
        for f in fields:
            if not scope.visible(f.id):
                continue
            value = scope.value(f.id)
            errors.extend(results[f.id][1])
            if value is not MISSING:
                cleaned[f.id] = value
        known = set(scope.fields)
        for key in data:
            if key not in known:
                name = key if isinstance(key, str) else repr(key)
                name = "".join(ch if ch.isprintable() else "?" for ch in name[:50])
                path = f"{prefix}.{name}" if prefix else name
                errors.append(FieldError(path, "form.unknown_field",
                                         f"項目「{name}」はこの様式にありません。"))
        return cleaned

    # -- one field

    def clean_field(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        if _is_empty(raw):
            # An optional group left empty is fine: min_items applies once the resident begins it.
            if f.required:
                verb = {
                    "choice": "を選択してください。", "file": "を添付してください。",
                    "boolean": "にチェックしてください。", "group": "を1件以上入力してください。",
                }.get(f.type, "を入力してください。")
                return ctx.fail("form.required", f"{ctx.where}{verb}")
            return MISSING
        cleaner = getattr(self, f"_clean_{f.type}")
        value = cleaner(f, raw, ctx, scope)
        if f.type == "boolean" and f.required and value is False:
            return ctx.fail("form.required", f"{ctx.where}にチェックしてください。")
        return value

    def _string(self, raw: Any, ctx: _Ctx) -> str | None:
        if not isinstance(raw, str):
            ctx.fail("form.type", f"{ctx.where}は文字で入力してください。")
            return None
        return raw.strip()

    def _clean_text(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope, *, multiline: bool = False) -> Any:
        text = self._string(raw, ctx)
        if text is None:
            return MISSING
        if multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = nfc_keep_variants(text)
        if _bad_chars(text, multiline=multiline):
            what = "制御文字" if multiline else "改行や制御文字"
            return ctx.fail("form.pattern", f"{ctx.where}に使えない文字（{what}）が含まれています。")
        if len(text) > f.max_length:
            return ctx.fail("form.too_long",
                            f"{ctx.where}は{f.max_length}文字以内で入力してください（現在{len(text)}文字）。")
        pattern = getattr(f, "pattern", None)
        if pattern and not re.fullmatch(pattern, text):
            narrowed = narrow(text)
            if narrowed != text and re.fullmatch(pattern, narrowed):
                return narrowed
            hint = f"（{f.help}）" if f.help else ""
            return ctx.fail("form.pattern", f"{ctx.where}の形式が正しくありません{hint}。")
        return text

    def _clean_textarea(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        return self._clean_text(f, raw, ctx, scope, multiline=True)

    def _clean_address(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        return self._clean_text(f, raw, ctx, scope)

    def _clean_kana(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        from madoguchi.core.jp.kana import is_katakana_name, to_katakana

        text = self._string(raw, ctx)
        if text is None:
            return MISSING
        text = unicodedata.normalize("NFC", to_katakana(text)).strip()
        if len(text) > f.max_length:
            return ctx.fail("form.too_long",
                            f"{ctx.where}は{f.max_length}文字以内で入力してください（現在{len(text)}文字）。")
        if not text or not is_katakana_name(text):
            return ctx.fail("form.kana_invalid", f"{ctx.where}はカタカナで入力してください。")
        return text

    def _clean_date(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        from madoguchi.core.jp.wareki import parse_date_any

        if isinstance(raw, datetime):
            value = raw.date()
        elif isinstance(raw, date):
            value = raw
        elif isinstance(raw, str):
            try:
                value = parse_date_any(raw.strip())
            except (ValueError, OverflowError):
                return ctx.fail("form.date_invalid",
                                f"{ctx.where}の日付を読み取れません（例: 2025-04-01、令和7年4月1日）。")
            if isinstance(value, datetime):
                value = value.date()
            if not isinstance(value, date):
                return ctx.fail("form.date_invalid", f"{ctx.where}の日付を読み取れません。")
        else:
            return ctx.fail("form.type", f"{ctx.where}は日付を文字で入力してください。")
        low, high = self._bound(f.min), self._bound(f.max)
        if low is not None and value < low:
            if f.min == "today":
                return ctx.fail("form.date_too_early", f"{ctx.where}に過去の日付は入力できません。")
            return ctx.fail("form.date_too_early",
                            f"{ctx.where}は{_wareki(low)}以降の日付を入力してください。")
        if high is not None and value > high:
            if f.max == "today":
                return ctx.fail("form.date_too_late", f"{ctx.where}に未来の日付は入力できません。")
            return ctx.fail("form.date_too_late",
                            f"{ctx.where}は{_wareki(high)}以前の日付を入力してください。")
        return value.isoformat()

    def _bound(self, bound: Any) -> date | None:
        from madoguchi.catalog.schema.definition import date_bound

        return date_bound(bound, self.today)

    def _clean_postal_code(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        text = self._string(raw, ctx)
        if text is None:
            return MISSING
        digits = unicodedata.normalize("NFKC", text).translate(_DASH_TABLE)
        digits = re.sub(r"[〒\-\s]", "", digits)
        if not re.fullmatch(r"[0-9]{7}", digits):
            return ctx.fail("form.postal_invalid",
                            f"{ctx.where}は7桁の数字で入力してください（例: 100-0001）。")
        return digits

    def _clean_phone(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        text = self._string(raw, ctx)
        if text is None:
            return MISSING
        phone = unicodedata.normalize("NFKC", text).translate(_DASH_TABLE)
        phone = re.sub(r"\s+", "-", phone)
        digits = re.sub(r"[^0-9]", "", phone)
        if (
            not re.fullmatch(r"[0-9()\-]+", phone)
            or not 10 <= len(digits) <= 11
            or not digits.startswith("0")
            or phone.startswith("-") or phone.endswith("-") or "--" in phone
        ):
            return ctx.fail("form.phone_invalid",
                            f"{ctx.where}は0から始まる10桁または11桁の番号で入力してください"
                            "（例: 090-1234-5678）。")
        return phone

    _EMAIL = re.compile(
        r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
    )

    def _clean_email(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        text = self._string(raw, ctx)
        if text is None:
            return MISSING
        # Local parts such as "a..b." (old 携帯 addresses) are accepted on purpose.
        email = narrow(text)
        if len(email) > 254 or not self._EMAIL.fullmatch(email) or len(email.split("@", 1)[0]) > 64:
            return ctx.fail("form.email_invalid",
                            f"{ctx.where}の形式が正しくありません（例: taro@example.jp）。")
        return email

    def _clean_choice(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        def one(v: Any) -> str | None:
            if isinstance(v, bool) or not isinstance(v, str | int):
                return None
            return str(v).strip()

        values = [o.value for o in f.options]
        if f.multiple:
            items = raw if isinstance(raw, list | tuple) else [raw]
            if isinstance(raw, Mapping):
                return ctx.fail("form.type", f"{ctx.where}の選択内容の形式が正しくありません。")
            picked = [one(v) for v in items]
            if any(p is None for p in picked):
                return ctx.fail("form.type", f"{ctx.where}の選択内容の形式が正しくありません。")
            if any(p not in values for p in picked):
                return ctx.fail("form.choice_invalid", f"{ctx.where}は選択肢の中から選んでください。")
            chosen = set(picked)
            return [v for v in values if v in chosen]
        value = one(raw)
        if value is None:
            return ctx.fail("form.type", f"{ctx.where}は選択肢から1つ選んでください。")
        if value not in values:
            return ctx.fail("form.choice_invalid", f"{ctx.where}は選択肢の中から選んでください。")
        return value

    def _clean_number(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        bad = f"{ctx.where}は{'整数' if f.integer else '数値'}で入力してください。"
        number: int | float
        if isinstance(raw, bool):
            return ctx.fail("form.number_invalid", bad)
        if isinstance(raw, int):
            number = raw
        elif isinstance(raw, float):
            if not math.isfinite(raw):
                return ctx.fail("form.number_invalid", bad)
            number = raw
        elif isinstance(raw, str):
            text = unicodedata.normalize("NFKC", raw).strip().replace(",", "").translate(_DASH_TABLE)
            if len(text) > 30 or not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text):
                return ctx.fail("form.number_invalid", bad)
            number = int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else float(text)
        else:
            return ctx.fail("form.number_invalid", bad)
        if abs(number) >= 10**18:
            return ctx.fail("form.number_invalid", bad)
        if f.integer:
            if isinstance(number, float):
                if not number.is_integer():
                    return ctx.fail("form.number_invalid", bad)
                number = int(number)
        else:
            number = float(number)
        if (f.min is not None and number < f.min) or (f.max is not None and number > f.max):
            return ctx.fail("form.number_range",
                            f"{ctx.where}は{_range_text(f.min, f.max)}で入力してください。")
        return number

    def _clean_money(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        bad = f"{ctx.where}は金額（円）を数字で入力してください（例: 12,000）。"
        amount: int
        if isinstance(raw, bool):
            return ctx.fail("form.money_invalid", bad)
        if isinstance(raw, int):
            amount = raw
        elif isinstance(raw, float):
            if not math.isfinite(raw) or not raw.is_integer():
                return ctx.fail("form.money_invalid", bad)
            amount = int(raw)
        elif isinstance(raw, str):
            text = unicodedata.normalize("NFKC", raw).translate(_DASH_TABLE)
            text = re.sub(r"[\s,]", "", text)
            text = re.sub(r"^[¥\\]", "", text)
            text = re.sub(r"円$", "", text)
            if len(text) > 19 or not re.fullmatch(r"-?[0-9]+", text):
                return ctx.fail("form.money_invalid", bad)
            amount = int(text)
        else:
            return ctx.fail("form.money_invalid", bad)
        if abs(amount) >= 10**18:
            return ctx.fail("form.money_invalid", bad)
        if amount < f.min or (f.max is not None and amount > f.max):
            low = f"{f.min:,}円以上" if f.min is not None else ""
            high = f"{f.max:,}円以下" if f.max is not None else ""
            return ctx.fail("form.number_range", f"{ctx.where}は{low}{high}で入力してください。")
        return amount

    def _clean_boolean(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            text = unicodedata.normalize("NFKC", raw).strip().lower()
            if text in {"on", "true", "1", "yes", "はい", "y"}:
                return True
            if text in {"off", "false", "0", "no", "いいえ", "n"}:
                return False
        return ctx.fail("form.type", f"{ctx.where}は「はい」か「いいえ」で答えてください。")

    def _clean_mynumber(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        from madoguchi.core.crypto import encrypt, mask
        from madoguchi.core.jp.codes import is_valid_mynumber

        if not isinstance(raw, str):
            return ctx.fail("form.type", f"{ctx.where}は12桁の数字を文字で入力してください。")
        number = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", raw).translate(_DASH_TABLE))
        if not re.fullmatch(r"[0-9]{12}", number) or not is_valid_mynumber(number):
            return ctx.fail("form.mynumber_invalid",
                            f"{ctx.where}が正しくありません。12桁の番号をもう一度ご確認ください。")
        return {SECRET_MARKER: encrypt(number), "masked": mask(number)}

    def _clean_file(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        if f.multiple:
            items = [raw] if isinstance(raw, Mapping) else raw
            if not isinstance(items, list | tuple):
                return ctx.fail("form.type", f"{ctx.where}の添付ファイルの形式が正しくありません。")
            if len(items) > f.max_files:
                return ctx.fail("form.file_invalid",
                                f"{ctx.where}に添付できるファイルは{f.max_files}件までです。")
            before = len(ctx.errors)
            refs = [self._file_ref(f, item, ctx, f"{ctx.path}[{i}]") for i, item in enumerate(items)]
            return MISSING if len(ctx.errors) > before else refs
        if not isinstance(raw, Mapping):
            return ctx.fail("form.type", f"{ctx.where}の添付ファイルの形式が正しくありません。")
        ref = self._file_ref(f, raw, ctx, ctx.path)
        return MISSING if ref is None else ref

    _FILE_KEYS = frozenset({"sha256", "filename", "mime", "size"})

    def _file_ref(self, f: Any, item: Any, ctx: _Ctx, path: str) -> dict[str, Any] | None:
        invalid = f"{ctx.where}の添付ファイルを確認できません。もう一度添付してください。"
        if not isinstance(item, Mapping) or set(item) != self._FILE_KEYS:
            ctx.fail("form.file_invalid", invalid, path=path)
            return None
        sha, name, mime, size = item["sha256"], item["filename"], item["mime"], item["size"]
        if (
            not isinstance(sha, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha)
            or not isinstance(name, str) or not name.strip() or len(name) > 255
            or _bad_chars(name, multiline=False) or "/" in name or "\\" in name
            or not isinstance(mime, str) or len(mime) > 255
            or isinstance(size, bool) or not isinstance(size, int) or size <= 0
        ):
            ctx.fail("form.file_invalid", invalid, path=path)
            return None
        mime = mime.strip().lower()
        if not f.accepts(mime):
            kinds = "、".join(_MIME_LABELS.get(m, m) for m in f.accept)
            ctx.fail("form.file_type", f"{ctx.where}は {kinds} のファイルを添付してください。", path=path)
            return None
        if size > f.max_bytes:
            limit = _size_text(f.max_bytes)
            ctx.fail("form.file_too_large",
                     f"{ctx.where}のファイルが大きすぎます（{limit}以下にしてください）。", path=path)
            return None
        filename = nfc_keep_variants(name.strip())
        return {"sha256": sha.lower(), "filename": filename, "mime": mime, "size": size}

    def _clean_group(self, f: Any, raw: Any, ctx: _Ctx, scope: _Scope) -> Any:
        if not isinstance(raw, list | tuple):
            return ctx.fail("form.type", f"{ctx.where}の形式が正しくありません。")
        low = max(f.min_items, 1 if f.required else 0)
        if not low <= len(raw) <= f.max_items:
            what = f"{low}件以上{f.max_items}件以下" if low else f"{f.max_items}件以下"
            return ctx.fail("form.group_count",
                            f"{ctx.where}は{what}で入力してください（現在{len(raw)}件）。")
        items: list[dict[str, Any]] = []
        before = len(ctx.errors)
        for i, item in enumerate(raw):
            path = f"{ctx.path}[{i}]"
            title = f"{f.item_title} {i + 1}"
            if not isinstance(item, Mapping):
                ctx.fail("form.type", f"「{title}」の形式が正しくありません。", path=path)
                continue
            items.append(self.clean_scope(f.fields, item, path, title, scope, ctx.errors))
        return MISSING if len(ctx.errors) > before else items


_MIME_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIC",
                "image/tiff": "TIFF", "image/*": "画像"}


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g}MB"
    if n >= 1024:
        return f"{n / 1024:g}KB"
    return f"{n}バイト"


def _range_text(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"{low}以上{high}以下"
    if low is not None:
        return f"{low}以上"
    return f"{high}以下"


def _wareki(d: date) -> str:
    from madoguchi.core.jp.wareki import to_wareki

    try:
        return to_wareki(d)
    except (ValueError, OverflowError):
        return d.isoformat()


def local_today() -> date:
    return datetime.now(JST).date()


# ---------------------------------------------------------------- public API


def validate_submission(definition: FormDefinition, data: Mapping[str, Any], *,
                        today: date | None = None) -> SubmissionResult:
    """Check and clean ``data`` (a flat dict keyed by top-level field ids) against ``definition``.

    ``today`` anchors ``"today"`` date bounds (defaults to the current date in Asia/Tokyo).
    ``definition`` may also be the stored JSON dict (it is parsed; DefinitionError if malformed).
    """
    if not isinstance(definition, FormDefinition):
        definition = parse_definition(definition)
    if not isinstance(data, Mapping):
        return SubmissionResult({}, [FieldError("", "form.type", "申請データの形式が正しくありません。")])
    run = _Run(today or local_today())
    errors: list[FieldError] = []
    fields = [f for _, f in definition.top_level_fields()]
    cleaned = run.clean_scope(fields, data, "", "", None, errors)
    return SubmissionResult(cleaned, errors)


def strip_secrets(definition: FormDefinition, cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of cleaned data without any ``mynumber`` value (for logs, exports, re-validation)."""

    def strip(fields: Sequence[Any], values: Mapping[str, Any]) -> dict[str, Any]:
        by_id = {f.id: f for f in fields}
        out: dict[str, Any] = {}
        for key, value in values.items():
            f = by_id.get(key)
            if f is not None and f.type == "mynumber":
                continue
            if isinstance(value, Mapping) and SECRET_MARKER in value:
                continue
            if f is not None and f.type == "group" and isinstance(value, list):
                value = [strip(f.fields, item) if isinstance(item, Mapping) else item for item in value]
            out[key] = value
        return out

    return strip([f for _, f in definition.top_level_fields()], cleaned)


FileRef = tuple[str, dict[str, Any]]


def iter_files(definition: FormDefinition, cleaned: Mapping[str, Any]) -> Iterator[FileRef]:
    """Yield ``(path, file_ref)`` for every attached file in cleaned data, in catalog order."""

    def walk(fields: Sequence[Any], values: Mapping[str, Any], prefix: str) -> Iterator[FileRef]:
        for f in fields:
            value = values.get(f.id)
            path = f"{prefix}.{f.id}" if prefix else f.id
            if value is None:
                continue
            if f.type == "file":
                if isinstance(value, Mapping):
                    yield path, dict(value)
                elif isinstance(value, list):
                    for i, ref in enumerate(value):
                        if isinstance(ref, Mapping):
                            yield f"{path}[{i}]", dict(ref)
            elif f.type == "group" and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, Mapping):
                        yield from walk(f.fields, item, f"{path}[{i}]")

    yield from walk([f for _, f in definition.top_level_fields()], cleaned, "")


def prefill_initial(definition: FormDefinition, resident: Mapping[str, Any]) -> dict[str, Any]:
    """Initial form values from a resident's 基本4情報 (+ kana, postal code).

    ``resident`` has the keys after ``resident.`` in ``prefill`` (``name``, ``name_kana``,
    ``birth_date`` (date or ISO string), ``sex``, ``postal_code``, ``address``). Missing or empty
    values are skipped. The result is raw input for the form, not cleaned data.
    """
    out: dict[str, Any] = {}
    for _, f in definition.top_level_fields():
        if f.prefill is None:
            continue
        value = resident.get(f.prefill.split(".", 1)[1])
        if value is None or value == "":
            continue
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            value = value.isoformat()
        out[f.id] = value if isinstance(value, str | int | float) else str(value)
    return out
