"""The form-schema engine: definitions, validation/cleaning and the staff 転記 rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import madoguchi.catalog
from madoguchi.catalog.schema import (
    ERROR_CODES,
    DefinitionError,
    display_rows,
    dump_definition,
    iter_files,
    parse_definition,
    prefill_initial,
    strip_secrets,
    validate_submission,
    walk_fields,
)
from madoguchi.core.crypto import decrypt

FIXTURES = Path(madoguchi.catalog.__file__).parent / "fixtures" / "procedures"
TODAY = date(2025, 6, 10)
MYNUMBER = "123456789018"  # a number with a valid check digit
SHA = "ab" * 32


def fixture_form(procedure_id: str):
    spec = json.loads((FIXTURES / f"{procedure_id}.json").read_text(encoding="utf-8"))
    return parse_definition(spec["form"])


def ref(**overrides: Any) -> dict[str, Any]:
    return {"sha256": SHA, "filename": "保険証.pdf", "mime": "application/pdf", "size": 1234} | overrides


ALL_TYPES = {
    "title": "テスト様式",
    "sections": [
        {"id": "main", "title": "基本", "fields": [
            {"id": "name", "type": "text", "label": "氏名", "required": True, "max_length": 10,
             "prefill": "resident.name"},
            {"id": "account_number", "type": "text", "label": "口座番号", "pattern": "^[0-9]{7}$"},
            {"id": "note", "type": "textarea", "label": "備考", "max_length": 20},
            {"id": "kana", "type": "kana", "label": "フリガナ", "prefill": "resident.name_kana"},
            {"id": "birth", "type": "date", "label": "生年月日", "max": "today", "prefill": "resident.birth_date"},
            {"id": "visit", "type": "date", "label": "来庁予定日", "min": "today", "max": "2025-12-31"},
            {"id": "postal", "type": "postal_code", "label": "郵便番号"},
            {"id": "address", "type": "address", "label": "住所"},
            {"id": "phone", "type": "phone", "label": "電話番号"},
            {"id": "email", "type": "email", "label": "メールアドレス"},
            {"id": "kind", "type": "choice", "label": "区分",
             "options": [{"value": "1", "label": "新規"}, {"value": "2", "label": "変更"}]},
            {"id": "reason", "type": "textarea", "label": "変更理由", "required": True,
             "show_if": {"field": "kind", "equals": "2"}},
            {"id": "tags", "type": "choice", "label": "関連", "multiple": True,
             "options": [{"value": "a", "label": "国保"}, {"value": "b", "label": "年金"}, {"value": "c", "label": "介護"}]},
            {"id": "count", "type": "number", "label": "部数", "min": 1, "max": 10},
            {"id": "hours", "type": "number", "label": "就労時間", "integer": False, "max": 24},
            {"id": "amount", "type": "money", "label": "寄附額", "max": 1000000},
            {"id": "agree", "type": "boolean", "label": "同意する"},
            {"id": "mynumber", "type": "mynumber", "label": "個人番号"},
            {"id": "card", "type": "file", "label": "保険証の写し", "max_bytes": 5000},
            {"id": "photos", "type": "file", "label": "写真", "multiple": True, "accept": ["image/*"]},
        ]},
        {"id": "kids", "title": "児童", "fields": [
            {"id": "children", "type": "group", "label": "児童", "item_label": "児童", "min_items": 1, "max_items": 3,
             "fields": [
                 {"id": "child_name", "type": "text", "label": "氏名", "required": True},
                 {"id": "birth_date", "type": "date", "label": "生年月日", "required": True},
                 {"id": "living", "type": "choice", "label": "同居・別居", "required": True,
                  "options": [{"value": "1", "label": "同居"}, {"value": "2", "label": "別居"}]},
                 {"id": "separate_address", "type": "address", "label": "別居先住所", "required": True,
                  "show_if": {"field": "living", "equals": "2"}},
                 {"id": "note_if_change", "type": "text", "label": "変更内容",
                  "show_if": {"field": "kind", "equals": "2"}},
             ]},
        ]},
    ],
}


@pytest.fixture(scope="module")
def form():
    return parse_definition(ALL_TYPES)


def run(form, data: dict[str, Any], **kw):
    base = {"name": "山田太郎", "children": [{"child_name": "花子", "birth_date": "2020-01-01", "living": "1"}]}
    return validate_submission(form, base | data, today=TODAY, **kw)


def codes(result) -> dict[str, str]:
    return {e.path: e.code for e in result.errors}


# ---------------------------------------------------------------- definitions


def test_definition_round_trips(form):
    dumped = dump_definition(form)
    assert parse_definition(dumped) == form
    assert dumped["sections"][0]["fields"][0]["max_length"] == 10
    assert json.loads(json.dumps(dumped)) == dumped


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["sections"][0]["fields"].append({"id": "name", "type": "text", "label": "重複"}), "重複"),
    (lambda d: d["sections"][1]["fields"].append({"id": "name", "type": "text", "label": "別セクション"}), "重複"),
    (lambda d: d["sections"][0]["fields"].append({"id": "c", "type": "choice", "label": "空", "options": []}),
     "options"),
    (lambda d: d["sections"][0]["fields"].append(
        {"id": "x", "type": "text", "label": "X", "show_if": {"field": "nope", "equals": "1"}}), "nope"),
    (lambda d: d["sections"][0]["fields"].append(
        {"id": "x", "type": "text", "label": "X", "show_if": {"field": "kind", "equals": "9"}}), "選択肢"),
    (lambda d: d["sections"][0]["fields"].append(
        {"id": "x", "type": "text", "label": "X", "show_if": {"field": "child_name", "equals": "a"}}), "child_name"),
    (lambda d: d["sections"][0]["fields"].append({"id": "Bad-Id", "type": "text", "label": "X"}), "Bad-Id"),
    (lambda d: d["sections"][0]["fields"].append({"id": "x", "type": "text", "label": "X", "requird": True}),
     "requird"),
    (lambda d: d["sections"][0]["fields"].append({"id": "x", "type": "date", "label": "X", "max_length": 3}),
     "max_length"),
    (lambda d: d["sections"][0]["fields"].append({"id": "x", "type": "secret", "label": "X"}), "x"),
    (lambda d: d["sections"][0]["fields"].append({"id": "x", "type": "text", "label": "X", "pattern": "("}),
     "正規表現"),
    (lambda d: d["sections"][0]["fields"].append(
        {"id": "x", "type": "date", "label": "X", "prefill": "resident.name"}), "prefill"),
    (lambda d: d["sections"][0]["fields"].append(
        {"id": "x", "type": "number", "label": "X", "min": 5, "max": 1}), "min"),
    (lambda d: d["sections"][0]["fields"].extend([
        {"id": "x", "type": "text", "label": "X", "show_if": {"field": "y", "equals": "1"}},
        {"id": "y", "type": "text", "label": "Y", "show_if": {"field": "x", "equals": "1"}}]), "循環"),
    (lambda d: d.pop("sections"), "sections"),
])
def test_bad_definitions_are_refused_with_a_clear_message(mutate, needle):
    data = json.loads(json.dumps(ALL_TYPES))
    mutate(data)
    with pytest.raises(DefinitionError) as info:
        parse_definition(data)
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_definition_refuses_non_mappings():
    with pytest.raises(DefinitionError):
        parse_definition(["not", "a", "dict"])  # type: ignore[arg-type]


def test_walk_fields_is_catalog_order_with_depth(form):
    walked = [(s.id, f.id, depth) for s, f, depth in walk_fields(form)]
    assert walked[0] == ("main", "name", 0)
    assert walked[-6:] == [("kids", "children", 0), ("kids", "child_name", 1), ("kids", "birth_date", 1),
                           ("kids", "living", 1), ("kids", "separate_address", 1), ("kids", "note_if_change", 1)]


# ---------------------------------------------------------------- every error code


BAD_INPUTS: list[tuple[dict[str, Any], str, str]] = [
    ({"name": ""}, "name", "form.required"),
    ({"name": "あ" * 11}, "name", "form.too_long"),
    ({"account_number": "12345"}, "account_number", "form.pattern"),
    ({"name": "山田\n太郎"}, "name", "form.pattern"),
    ({"kana": "山田"}, "kana", "form.kana_invalid"),
    ({"birth": "令和7年2月30日"}, "birth", "form.date_invalid"),
    ({"birth": "someday"}, "birth", "form.date_invalid"),
    ({"visit": "2025-06-09"}, "visit", "form.date_too_early"),
    ({"birth": "2025-06-11"}, "birth", "form.date_too_late"),
    ({"visit": "2026-01-01"}, "visit", "form.date_too_late"),
    ({"postal": "123-456"}, "postal", "form.postal_invalid"),
    ({"phone": "123-4567"}, "phone", "form.phone_invalid"),
    ({"phone": "1234567890"}, "phone", "form.phone_invalid"),
    ({"email": "taro@"}, "email", "form.email_invalid"),
    ({"kind": "9"}, "kind", "form.choice_invalid"),
    ({"tags": ["a", "z"]}, "tags", "form.choice_invalid"),
    ({"count": "three"}, "count", "form.number_invalid"),
    ({"count": "2.5"}, "count", "form.number_invalid"),
    ({"count": 11}, "count", "form.number_range"),
    ({"amount": "12,000ドル"}, "amount", "form.money_invalid"),
    ({"amount": "-500"}, "amount", "form.number_range"),
    ({"mynumber": "123456789012"}, "mynumber", "form.mynumber_invalid"),
    ({"card": ref(mime="application/zip")}, "card", "form.file_type"),
    ({"card": ref(size=5001)}, "card", "form.file_too_large"),
    ({"card": ref(sha256="xyz")}, "card", "form.file_invalid"),
    ({"card": {"sha256": SHA}}, "card", "form.file_invalid"),
    ({"photos": [ref(mime="image/png"), ref(mime="application/pdf")]}, "photos[1]", "form.file_type"),
    ({"children": [{"child_name": "a", "birth_date": "2020-01-01", "living": "1"}] * 4}, "children",
     "form.group_count"),
    ({"surprise": "x"}, "surprise", "form.unknown_field"),
    ({"name": ["山田"]}, "name", "form.type"),
    ({"agree": "maybe"}, "agree", "form.type"),
    ({"children": "花子"}, "children", "form.type"),
    ({"children": ["花子"]}, "children[0]", "form.type"),
    ({"card": [ref()]}, "card", "form.type"),
]


@pytest.mark.parametrize("data, path, code", BAD_INPUTS)
def test_each_error_code(form, data, path, code):
    result = run(form, data)
    assert not result.ok
    assert (path, code) in [(e.path, e.code) for e in result.errors], result.errors


def test_every_documented_code_is_exercised():
    used = {code for _, _, code in BAD_INPUTS}
    assert used == ERROR_CODES


def test_messages_are_japanese_and_name_the_label(form):
    result = run(form, {"name": "", "postal": "12", "children": [{"child_name": "", "birth_date": "x", "living": "1"}]})
    messages = {e.path: e.message for e in result.errors}
    assert messages["name"] == "「氏名」を入力してください。"
    assert "「郵便番号」" in messages["postal"]
    assert messages["children[0].child_name"] == "「児童 1」の「氏名」を入力してください。"
    assert "「児童 1」の「生年月日」" in messages["children[0].birth_date"]


def test_group_errors_use_zero_based_index_paths(form):
    children = [
        {"child_name": "一郎", "birth_date": "2019-04-01", "living": "1"},
        {"child_name": "二郎", "birth_date": "2021-13-01", "living": "2", "extra": 1},
    ]
    result = run(form, {"children": children})
    assert codes(result) == {
        "children[1].birth_date": "form.date_invalid",
        "children[1].separate_address": "form.required",
        "children[1].extra": "form.unknown_field",
    }
    assert result.errors_by_path()["children[1].extra"][0].code == "form.unknown_field"


def test_data_that_is_not_a_mapping_is_an_error_not_an_exception(form):
    result = validate_submission(form, ["x"], today=TODAY)  # type: ignore[arg-type]
    assert not result.ok and result.errors[0].code == "form.type" and result.cleaned == {}


# ---------------------------------------------------------------- cleaning


def test_cleaning_rules(form):
    result = run(form, {
        "name": "  髙橋　﨑子\u3000",
        "account_number": "１２３４５６７",
        "note": "一行目\r\n二行目",
        "kana": "たかはし ｻｷｺ",
        "birth": "令和元年5月1日",
        "visit": "R7.6.10",
        "postal": "〒１００ー０００１",
        "address": "東京都千代田区千代田１－１",
        "phone": "０９０－１２３４－５６７８",
        "email": "ｔａｒｏ@example.jp",
        "kind": "1",
        "tags": ["c", "a", "a"],
        "count": "３",
        "hours": "7.5",
        "amount": "１２,０００",
        "agree": "on",
        "card": ref(sha256="AB" * 32),
        "photos": ref(mime="image/jpeg", filename="外観.jpg"),
    })
    assert result.ok, result.errors
    c = result.cleaned
    assert c["name"] == "髙橋　﨑子"  # 異体字 and the inner 全角 space are kept
    assert c["account_number"] == "1234567"
    assert c["note"] == "一行目\n二行目"
    assert c["kana"] == "タカハシ サキコ"
    assert c["birth"] == "2019-05-01"
    assert c["visit"] == "2025-06-10"
    assert c["postal"] == "1000001"
    assert c["address"] == "東京都千代田区千代田１－１"  # text is never narrowed
    assert c["phone"] == "090-1234-5678"
    assert c["email"] == "taro@example.jp"
    assert c["tags"] == ["a", "c"]
    assert c["count"] == 3 and isinstance(c["count"], int)
    assert c["hours"] == 7.5
    assert c["amount"] == 12000
    assert c["agree"] is True
    assert c["card"]["sha256"] == SHA
    assert c["photos"] == [ref(mime="image/jpeg", filename="外観.jpg")]
    assert c["children"] == [{"child_name": "花子", "birth_date": "2020-01-01", "living": "1"}]
    assert list(c) == ["name", "account_number", "note", "kana", "birth", "visit", "postal", "address", "phone",
                       "email", "kind", "tags", "count", "hours", "amount", "agree", "card", "photos", "children"]


def test_nfc_but_compatibility_ideographs_are_kept(form):
    composed = run(form, {"name": "か\u3099つ"}).cleaned["name"]
    assert composed == "がつ"
    kept = run(form, {"name": "\ufa19田"}).cleaned["name"]  # 神 (CJK COMPATIBILITY IDEOGRAPH-FA19)
    assert kept == "\ufa19田"
    ivs = run(form, {"name": "葛\U000e0100城"}).cleaned["name"]  # an IVS sequence survives too
    assert ivs == "葛\U000e0100城"
    pua = run(form, {"name": "\ue000子"}).cleaned["name"]  # 外字 in the private use area
    assert pua == "\ue000子"


def test_empty_optional_values_are_omitted(form):
    result = run(form, {"note": "   ", "kana": None, "tags": [], "email": "", "agree": False})
    assert result.ok
    assert "note" not in result.cleaned and "kana" not in result.cleaned and "tags" not in result.cleaned
    assert result.cleaned["agree"] is False  # an explicit answer is not "empty"


def test_money_and_number_variants(form):
    for raw, expected in [("¥12,000", 12000), ("12000円", 12000), ("￥１，２００", 1200), (3000, 3000), (3000.0, 3000)]:
        assert run(form, {"amount": raw}).cleaned["amount"] == expected
    assert codes(run(form, {"amount": 12.5})) == {"amount": "form.money_invalid"}
    assert codes(run(form, {"amount": True})) == {"amount": "form.money_invalid"}
    assert codes(run(form, {"count": float("nan")})) == {"count": "form.number_invalid"}
    assert run(form, {"hours": 8}).cleaned["hours"] == 8.0


def test_boolean_variants(form):
    for raw, expected in [("true", True), ("1", True), ("はい", True), ("off", False), (0, False), (True, True)]:
        assert run(form, {"agree": raw}).cleaned["agree"] is expected


def test_required_boolean_must_be_checked():
    definition = parse_definition({"title": "t", "sections": [{"id": "s", "title": "S", "fields": [
        {"id": "agree", "type": "boolean", "label": "同意する", "required": True}]}]})
    assert codes(validate_submission(definition, {"agree": False}, today=TODAY)) == {"agree": "form.required"}
    assert validate_submission(definition, {"agree": "on"}, today=TODAY).cleaned == {"agree": True}


def test_phone_accepts_common_shapes(form):
    for raw in ["03-1234-5678", "0312345678", "03(1234)5678", "090 1234 5678", "０３ー１２３４ー５６７８"]:
        assert run(form, {"phone": raw}).ok, raw
    for raw in ["+81-90-1234-5678", "090-1234-56789", "-0312345678", "03--1234-5678", "電話 03"]:
        assert codes(run(form, {"phone": raw})) == {"phone": "form.phone_invalid"}, raw


def test_email_accepts_old_keitai_addresses(form):
    assert run(form, {"email": "taro..yamada.@docomo.ne.jp"}).ok
    assert not run(form, {"email": "taro@localhost"}).ok


def test_date_input_in_wareki_and_bounds(form):
    assert run(form, {"birth": "平成31年4月30日"}).cleaned["birth"] == "2019-04-30"
    assert run(form, {"birth": "Ｒ７．６．１０"}).cleaned["birth"] == "2025-06-10"
    assert run(form, {"birth": date(2001, 2, 3)}).cleaned["birth"] == "2001-02-03"
    early = run(form, {"visit": "2025-06-09"})
    assert early.errors[0].message == "「来庁予定日」に過去の日付は入力できません。"
    late = run(form, {"visit": "2026-01-01"})
    assert "令和7年12月31日以前" in late.errors[0].message


def test_today_defaults_to_the_japanese_date(form):
    result = validate_submission(form, {"name": "a", "children": [
        {"child_name": "a", "birth_date": "2020-01-01", "living": "1"}], "birth": "2999-01-01"})
    assert codes(result) == {"birth": "form.date_too_late"}


def test_show_if_hides_and_drops_values(form):
    hidden = run(form, {"kind": "1", "reason": "引越し"})
    assert hidden.ok and "reason" not in hidden.cleaned
    shown = run(form, {"kind": "2"})
    assert codes(shown) == {"reason": "form.required"}
    assert run(form, {"kind": "2", "reason": "引越し"}).cleaned["reason"] == "引越し"
    # absent controlling field → hidden
    assert run(form, {"reason": "x"}).ok


def test_show_if_inside_group_can_refer_to_top_level(form):
    child = {"child_name": "a", "birth_date": "2020-01-01", "living": "1", "note_if_change": "氏名"}
    assert "note_if_change" not in run(form, {"kind": "1", "children": [child]}).cleaned["children"][0]
    assert run(form, {"kind": "2", "reason": "r", "children": [child]}).cleaned["children"][0]["note_if_change"] == "氏名"


def test_show_if_on_multiple_choice_matches_membership():
    definition = parse_definition({"title": "t", "sections": [{"id": "s", "title": "S", "fields": [
        {"id": "items", "type": "choice", "label": "変更事項", "multiple": True,
         "options": [{"value": "name", "label": "氏名"}, {"value": "address", "label": "住所"}]},
        {"id": "old_name", "type": "text", "label": "旧氏名", "required": True,
         "show_if": {"field": "items", "equals": "name"}},
        {"id": "agree", "type": "boolean", "label": "代理"},
        {"id": "proxy", "type": "text", "label": "代理人", "required": True, "show_if": {"field": "agree", "equals": True}},
    ]}]})
    assert codes(validate_submission(definition, {"items": ["address", "name"]}, today=TODAY)) == {
        "old_name": "form.required"}
    assert validate_submission(definition, {"items": ["address"]}, today=TODAY).ok
    assert codes(validate_submission(definition, {"agree": "on"}, today=TODAY)) == {"proxy": "form.required"}
    assert validate_submission(definition, {"agree": "1", "proxy": "x"}, today=TODAY).ok
    assert validate_submission(definition, {"agree": 0, "proxy": "dropped"}, today=TODAY).cleaned == {"agree": False}


def test_optional_group_left_empty_is_fine_but_required_group_is_not():
    definition = parse_definition({"title": "t", "sections": [{"id": "s", "title": "S", "fields": [
        {"id": "opt", "type": "group", "label": "任意", "min_items": 2, "fields": [
            {"id": "x", "type": "text", "label": "X"}]},
        {"id": "req", "type": "group", "label": "児童", "required": True, "fields": [
            {"id": "x", "type": "text", "label": "X"}]},
    ]}]})
    result = validate_submission(definition, {"opt": [], "req": []}, today=TODAY)
    assert codes(result) == {"req": "form.required"}
    assert result.errors[0].message == "「児童」を1件以上入力してください。"
    assert codes(validate_submission(definition, {"opt": [{}], "req": [{}]}, today=TODAY)) == {
        "opt": "form.group_count"}
    assert validate_submission(definition, {"req": [{}]}, today=TODAY).cleaned == {"req": [{}]}


# ---------------------------------------------------------------- 個人番号


def test_mynumber_is_encrypted_and_never_in_clear(form):
    result = run(form, {"mynumber": "1234 5678 9018"})
    assert result.ok
    stored = result.cleaned["mynumber"]
    assert set(stored) == {"$enc", "masked"}
    assert stored["masked"].endswith("9018") and "12345678" not in stored["masked"]
    assert decrypt(stored["$enc"]) == MYNUMBER
    for text in (json.dumps(result.cleaned, ensure_ascii=False), repr(result), str(result.cleaned)):
        assert MYNUMBER not in text


def test_invalid_mynumber_is_not_echoed(form):
    bad = "123456789012"
    result = run(form, {"mynumber": bad, "name": bad * 2})
    assert codes(result) == {"mynumber": "form.mynumber_invalid", "name": "form.too_long"}
    assert bad not in repr(result)
    assert all(bad not in e.message for e in result.errors)
    assert "mynumber" not in result.cleaned
    assert codes(run(form, {"mynumber": 123456789018})) == {"mynumber": "form.type"}
    assert MYNUMBER not in repr(run(form, {"mynumber": 123456789018}))


def test_strip_secrets_removes_mynumbers(form):
    result = run(form, {"mynumber": MYNUMBER})
    stripped = strip_secrets(form, result.cleaned)
    assert "mynumber" not in stripped and "name" in stripped


# ---------------------------------------------------------------- 児童手当 (a fixture form)


def jidoteate_submission() -> dict[str, Any]:
    return {
        "applicant_name": "山田　太郎",
        "applicant_kana": "やまだ たろう",
        "applicant_birth_date": "昭和63年4月1日",
        "applicant_mynumber": MYNUMBER,
        "applicant_postal_code": "100-0001",
        "applicant_address": "東京都千代田区千代田1-1 ○○ハイツ101",
        "applicant_phone": "090-1234-5678",
        "claim_reason": "birth",
        "pension_type": "kosei",
        "health_insurance": "kenpo",
        "has_spouse": "yes",
        "spouse_name": "山田　花子",
        "spouse_kana": "ヤマダ ハナコ",
        "spouse_birth_date": "1990-02-03",
        "spouse_living": "1",
        "children": [
            {"child_name": "山田　一郎", "child_kana": "ヤマダ イチロウ", "child_birth_date": "令和7年5月20日",
             "child_relationship": "1", "child_living": "1"},
            {"child_name": "山田　次郎", "child_kana": "ﾔﾏﾀﾞ ｼﾞﾛｳ", "child_birth_date": "2015-08-08",
             "child_relationship": "1", "child_living": "2", "child_separate_address": "大阪府大阪市北区1-1"},
        ],
        "account_source": "shitei",
        "bank_name": "みらい銀行",
        "bank_branch": "本店",
        "account_type": "1",
        "account_number": "0123456",
        "account_holder_kana": "やまだ たろう",
        "insurance_proof": ref(),
        "declaration": "on",
    }


def test_full_jidoteate_submission_cleans_to_the_expected_shape():
    definition = fixture_form("kosodate-jidoteate-nintei")
    result = validate_submission(definition, jidoteate_submission(), today=TODAY)
    assert result.ok, result.errors
    cleaned = result.cleaned
    enc = cleaned.pop("applicant_mynumber")
    assert decrypt(enc["$enc"]) == MYNUMBER and enc["masked"] == "●" * 8 + "9018"
    assert cleaned == {
        "applicant_name": "山田　太郎",
        "applicant_kana": "ヤマダ タロウ",
        "applicant_birth_date": "1988-04-01",
        "applicant_postal_code": "1000001",
        "applicant_address": "東京都千代田区千代田1-1 ○○ハイツ101",
        "applicant_phone": "090-1234-5678",
        "claim_reason": "birth",
        "pension_type": "kosei",
        "health_insurance": "kenpo",
        "has_spouse": "yes",
        "spouse_name": "山田　花子",
        "spouse_kana": "ヤマダ ハナコ",
        "spouse_birth_date": "1990-02-03",
        "spouse_living": "1",
        "children": [
            {"child_name": "山田　一郎", "child_kana": "ヤマダ イチロウ", "child_birth_date": "2025-05-20",
             "child_relationship": "1", "child_living": "1"},
            {"child_name": "山田　次郎", "child_kana": "ヤマダ ジロウ", "child_birth_date": "2015-08-08",
             "child_relationship": "1", "child_living": "2", "child_separate_address": "大阪府大阪市北区1-1"},
        ],
        "account_source": "shitei",
        "bank_name": "みらい銀行",
        "bank_branch": "本店",
        "account_type": "1",
        "account_number": "0123456",
        "account_holder_kana": "ヤマダ タロウ",
        "insurance_proof": ref(),
        "declaration": True,
    }


def test_jidoteate_kokin_account_hides_bank_fields_and_requires_insurance_only_for_kosei():
    definition = fixture_form("kosodate-jidoteate-nintei")
    data = jidoteate_submission() | {"account_source": "kokin", "pension_type": "kokumin"}
    data.pop("insurance_proof")
    result = validate_submission(definition, data, today=TODAY)
    assert result.ok, result.errors
    assert "bank_name" not in result.cleaned and "account_number" not in result.cleaned
    data["pension_type"] = "kosei"
    assert codes(validate_submission(definition, data, today=TODAY)) == {"insurance_proof": "form.required"}


def test_jidoteate_missing_everything():
    definition = fixture_form("kosodate-jidoteate-nintei")
    result = validate_submission(definition, {}, today=TODAY)
    found = codes(result)
    assert found["applicant_name"] == "form.required"
    assert found["applicant_mynumber"] == "form.required"
    assert found["children"] == "form.required"
    assert found["declaration"] == "form.required"
    assert "bank_name" not in found  # hidden until 指定の口座 is chosen


def test_iter_files_and_prefill():
    definition = fixture_form("kosodate-jidoteate-nintei")
    cleaned = validate_submission(definition, jidoteate_submission(), today=TODAY).cleaned
    assert list(iter_files(definition, cleaned)) == [("insurance_proof", ref())]
    initial = prefill_initial(definition, {"name": "山田太郎", "birth_date": date(1988, 4, 1), "sex": "1",
                                           "address": "東京都", "name_kana": ""})
    assert initial == {"applicant_name": "山田太郎", "applicant_birth_date": "1988-04-01",
                       "applicant_address": "東京都"}


# ---------------------------------------------------------------- display rows


def test_display_rows_for_the_clerk(form):
    result = run(form, {
        "birth": "2019-05-01", "kind": "2", "reason": "転居", "tags": ["a", "c"], "amount": 12000, "agree": True,
        "mynumber": MYNUMBER, "card": ref(), "postal": "1000001", "count": 2,
        "children": [{"child_name": "花子", "birth_date": "2020-01-01", "living": "2", "separate_address": "大阪"}],
    })
    assert result.ok, result.errors
    rows = {r.path: r for r in display_rows(form, result.cleaned)}
    assert rows["birth"].display == "令和元年5月1日" and rows["birth"].copy == "令和元年5月1日"
    assert rows["birth"].copy_alt == "2019-05-01"
    assert rows["kind"].display == "変更" and rows["kind"].copy_alt == "2"
    assert rows["tags"].display == "国保、介護"
    assert rows["amount"].display == "12,000円" and rows["amount"].copy == "12000"
    assert rows["agree"].display == "はい"
    assert rows["postal"].display == "〒100-0001" and rows["postal"].copy == "1000001"
    assert rows["card"].display == "保険証.pdf"
    assert rows["count"].display == "2"
    my = rows["mynumber"]
    assert my.is_secret and my.copy == "" and my.display.endswith("9018") and MYNUMBER not in repr(my)
    assert rows["note"].display == "—" and rows["note"].is_empty
    assert rows["children[0]"].label == "児童 1" and rows["children[0]"].kind == "group_item"
    assert rows["children[0]"].depth == 0
    assert rows["children[0].separate_address"].depth == 1
    assert rows["children[0].separate_address"].section_title == "児童"
    assert rows["children[0].note_if_change"].display == "—"
    assert rows["name"].section_title == "基本"
    order = [r.path for r in display_rows(form, result.cleaned)]
    assert order.index("name") < order.index("children[0]") < order.index("children[0].child_name")


def test_display_rows_leave_out_hidden_fields_and_survive_odd_data(form):
    rows = display_rows(form, {"kind": "1", "birth": "not-a-date", "amount": "12000", "legacy": {"$enc": "x"},
                               "mynumber": "123456789018"})
    paths = {r.path: r for r in rows}
    assert "reason" not in paths
    assert paths["birth"].display == "not-a-date"
    assert paths["legacy"].is_secret and paths["legacy"].section_title is None and paths["legacy"].copy == ""
    assert paths["mynumber"].is_secret and "123456789018" not in repr(rows)
    assert paths["children"].display == "—" and paths["children"].kind == "group"


def test_relative_date_bounds_today_plus_minus_days() -> None:
    """転出届: from 30 days before the move, up to 14 days after it ("today-14" … "today+30")."""
    from datetime import date, timedelta

    from madoguchi.catalog.schema import DefinitionError, parse_definition, validate_submission

    definition = parse_definition({
        "title": "t", "sections": [{"id": "s", "title": "s", "fields": [
            {"id": "move_date", "type": "date", "label": "転出予定日", "required": True,
             "min": "today-14", "max": "today+30"}]}],
    })
    today = date(2026, 11, 23)
    ok = [today - timedelta(days=14), today, today + timedelta(days=30)]
    for d in ok:
        assert validate_submission(definition, {"move_date": d.isoformat()}, today=today).ok, d
    late = validate_submission(definition, {"move_date": (today + timedelta(days=31)).isoformat()}, today=today)
    assert [e.code for e in late.errors] == ["form.date_too_late"] and "令和8年12月23日以前" in late.errors[0].message
    early = validate_submission(definition, {"move_date": (today - timedelta(days=15)).isoformat()}, today=today)
    assert [e.code for e in early.errors] == ["form.date_too_early"]
    for bad in ["tomorrow", "today+", "today*3", "today+99999"]:
        try:
            parse_definition({"title": "t", "sections": [{"id": "s", "title": "s", "fields": [
                {"id": "d", "type": "date", "label": "d", "min": bad}]}]})
        except DefinitionError:
            continue
        raise AssertionError(f"{bad!r} accepted as a date bound")
