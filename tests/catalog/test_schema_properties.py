"""Property tests for the form-schema engine, run against every bundled procedure form."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import madoguchi.catalog
from madoguchi.catalog.schema import (
    ERROR_CODES,
    display_rows,
    parse_definition,
    strip_secrets,
    validate_submission,
)
from madoguchi.core.jp.codes import mynumber_check_digit
from madoguchi.core.jp.kana import is_katakana_name
from madoguchi.core.jp.wareki import to_wareki

FIXTURES = Path(madoguchi.catalog.__file__).parent / "fixtures" / "procedures"
TODAY = date(2025, 6, 10)
FORMS = {
    p.stem: parse_definition(json.loads(p.read_text(encoding="utf-8"))["form"])
    for p in sorted(FIXTURES.glob("*.json"))
}
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(PROPS, max_examples=15)


def all_ids(fields) -> list[str]:
    out = []
    for f in fields:
        out.append(f.id)
        if f.type == "group":
            out += all_ids(f.fields)
    return out


# ---------------------------------------------------------------- arbitrary JSON-like data

def json_like(keys: list[str]):
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    key = st.sampled_from(keys) | st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(key, children, max_size=5),
        max_leaves=20,
    )


@pytest.mark.parametrize("procedure_id", sorted(FORMS))
@FUZZ
@given(data=st.data())
def test_never_raises_on_arbitrary_json(procedure_id: str, data) -> None:
    definition = FORMS[procedure_id]
    top_ids = [f.id for _, f in definition.top_level_fields()]
    keys = all_ids(f for _, f in definition.top_level_fields())
    payload = data.draw(st.dictionaries(st.sampled_from(top_ids) | st.text(max_size=8), json_like(keys),
                                        max_size=12))
    result = validate_submission(definition, payload, today=TODAY)
    assert all(e.code in ERROR_CODES for e in result.errors)
    assert all(e.message for e in result.errors)
    display_rows(definition, payload)
    display_rows(definition, result.cleaned)


@given(payload=json_like(["a"]))
@PROPS
def test_non_mapping_data_is_an_error(payload: Any) -> None:
    definition = FORMS["kosodate-ninshin"]
    result = validate_submission(definition, payload, today=TODAY)
    if not isinstance(payload, dict):
        assert [e.code for e in result.errors] == ["form.type"]


# ---------------------------------------------------------------- plausible valid data

HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097)) + "ゝゞゟ"
KANA_LETTERS = "アイウエオカガキサシタチナニハパマヤユヨラワンヴァッ" + "あいうえおかがさたなはまやらわん"
NAME_CHARS = "山田太郎花子髙﨑葛神邊齋\ufa19\ufa11あアｱabcＡ１2－-・　 "


def mynumbers():
    return st.text(alphabet="0123456789", min_size=11, max_size=11).map(lambda s: s + str(mynumber_check_digit(s)))


def non_blank_text(alphabet: str, max_size: int):
    return st.text(alphabet=alphabet, min_size=1, max_size=max_size).filter(lambda s: s.strip())


def date_bound(bound: Any, default: date) -> date:
    from madoguchi.catalog.schema.definition import date_bound as resolve

    return resolve(bound, TODAY) or default


def value_for(f) -> st.SearchStrategy[Any]:
    t = f.type
    if t in ("text", "textarea", "address"):
        if getattr(f, "pattern", None):
            return st.from_regex(f.pattern, fullmatch=True).filter(lambda s: s == s.strip() and s)
        alphabet = NAME_CHARS + ("\n" if t == "textarea" else "")
        return non_blank_text(alphabet, min(f.max_length, 30))
    if t == "kana":
        tokens = [*KANA_LETTERS, "ー", " ", "　", "ｶﾞ", "ﾊﾟ", "ｼ"]
        return st.tuples(st.sampled_from(KANA_LETTERS), st.lists(st.sampled_from(tokens), max_size=20)).map(
            lambda p: p[0] + "".join(p[1]))
    if t == "date":
        low = date_bound(f.min, date(1900, 1, 1))
        high = date_bound(f.max, date(2040, 12, 31))
        return st.tuples(st.dates(min_value=low, max_value=high), st.integers(0, 2)).map(
            lambda p: [p[0].isoformat(), to_wareki(p[0]), f"{p[0].year}/{p[0].month}/{p[0].day}"][p[1]])
    if t == "postal_code":
        return st.tuples(st.text(alphabet="0123456789", min_size=7, max_size=7), st.sampled_from(["", "-", "〒"])).map(
            lambda p: f"{p[1]}{p[0][:3]}-{p[0][3:]}" if p[1] else p[0])
    if t == "phone":
        return st.text(alphabet="0123456789", min_size=9, max_size=10).map(lambda s: f"0{s[:2]}-{s[2:6]}-{s[6:]}")
    if t == "email":
        return st.from_regex(r"[a-z0-9._]{1,10}@[a-z]{1,8}\.(jp|com|ne\.jp)", fullmatch=True)
    if t == "choice":
        values = [o.value for o in f.options]
        if f.multiple:
            return st.lists(st.sampled_from(values), min_size=1, max_size=len(values))
        return st.sampled_from(values)
    if t == "number":
        low = f.min if f.min is not None else -1000
        high = f.max if f.max is not None else 1000
        if f.integer:
            return st.integers(int(low), int(high))
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if t == "money":
        high = f.max if f.max is not None else 10**8
        return st.tuples(st.integers(f.min, high), st.integers(0, 2)).map(
            lambda p: [p[0], f"{p[0]:,}", f"{p[0]}円"][p[1]])
    if t == "boolean":
        return st.just(True) if f.required else st.sampled_from([True, False, "on", "off"])
    if t == "mynumber":
        return mynumbers()
    if t == "file":
        mimes = [m.replace("/*", "/png") for m in f.accept]
        one = st.fixed_dictionaries({
            "sha256": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
            "filename": non_blank_text("写真保険証abc_.", 20).map(lambda s: s.strip() + ".pdf"),
            "mime": st.sampled_from(mimes),
            "size": st.integers(1, f.max_bytes),
        })
        return st.lists(one, min_size=1, max_size=3) if f.multiple else one
    if t == "group":
        low = max(f.min_items, 1 if f.required else 0, 1)
        return st.lists(submission_for(f.fields), min_size=low, max_size=min(f.max_items, 3))
    raise AssertionError(t)


def submission_for(fields) -> st.SearchStrategy[dict[str, Any]]:
    required = {f.id: value_for(f) for f in fields if f.required or (f.type == "group" and f.min_items)}
    optional = {f.id: value_for(f) for f in fields if f.id not in required}
    return st.fixed_dictionaries(required, optional=optional)


@pytest.mark.parametrize("procedure_id", sorted(FORMS))
@PROPS
@given(data=st.data())
def test_valid_data_passes_and_cleaning_is_idempotent(procedure_id: str, data) -> None:
    definition = FORMS[procedure_id]
    payload = data.draw(submission_for([f for _, f in definition.top_level_fields()]))
    first = validate_submission(definition, payload, today=TODAY)
    assert first.ok, first.errors
    without_secrets = strip_secrets(definition, first.cleaned)
    second = validate_submission(definition, without_secrets, today=TODAY)
    assert second.cleaned == without_secrets
    # the only thing missing the second time round is a required 個人番号
    assert all(e.code == "form.required" and "mynumber" in e.path for e in second.errors)
    rows = display_rows(definition, first.cleaned)
    texts = list(strings(first.cleaned)) + [s for r in rows if r.kind != "file" for s in (r.display, r.copy, r.copy_alt)]
    texts += [e.message for e in first.errors]
    for _, f in definition.top_level_fields():
        if f.type == "mynumber" and f.id in payload:
            assert not any(payload[f.id] in t for t in texts)


def strings(value: Any):
    """Every string in cleaned data, except content hashes and encrypted tokens."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if key not in ("sha256", "$enc"):
                yield from strings(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from strings(sub)
    elif isinstance(value, str):
        yield value


# ---------------------------------------------------------------- kana

KANA_FORM = parse_definition({"title": "カナ", "sections": [{"id": "s", "title": "S", "fields": [
    {"id": "kana", "type": "kana", "label": "フリガナ", "required": True}]}]})


@given(st.text(alphabet=HIRAGANA, min_size=1, max_size=50))
@PROPS
def test_any_hiragana_becomes_katakana_that_passes(text: str) -> None:
    result = validate_submission(KANA_FORM, {"kana": text}, today=TODAY)
    assert result.ok, result.errors
    cleaned = result.cleaned["kana"]
    assert is_katakana_name(cleaned)
    assert not any("\u3041" <= ch <= "\u309f" for ch in cleaned)
    assert validate_submission(KANA_FORM, {"kana": cleaned}, today=TODAY).cleaned == {"kana": cleaned}


def test_dates_shift_with_today() -> None:
    definition = FORMS["shimin-tennyu-yoyaku"]
    visit = next(f for _, f in definition.top_level_fields() if f.id == "visit_date")
    assert visit.min == "today"
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    result = validate_submission(definition, {"visit_date": tomorrow}, today=TODAY + timedelta(days=2))
    assert any(e.path == "visit_date" and e.code == "form.date_too_early" for e in result.errors)
