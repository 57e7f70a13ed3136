"""The 34 bundled procedure fixtures: 26 子育て・介護 + 罹災証明書 + 転出届・転入予約 + 住民票の写し, and for the
counter (書かない窓口) a family moving in needs: 転入届, 子ども医療費助成, 国民健康保険の資格取得, 転入学."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import madoguchi.catalog
from madoguchi.catalog.schema import display_rows, dump_definition, parse_definition, walk_fields

FIXTURES = Path(madoguchi.catalog.__file__).parent / "fixtures" / "procedures"
FILES = sorted(FIXTURES.glob("*.json"))
SPECS: dict[str, dict[str, Any]] = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in FILES}

DEPARTMENTS = {"shimin", "kosodate", "hoiku", "kaigo", "kikikanri", "hoken", "gakko"}
CATEGORIES = {"子育て", "介護", "引越し", "罹災", "保険・年金", "学校・教育"}
PREFIX_BY_CATEGORY = {"子育て": "kosodate-", "介護": "kaigo-", "引越し": "shimin-", "罹災": "risai-",
                      "保険・年金": "kokuho-", "学校・教育": "gakko-"}
LIFE_EVENTS = {"birth", "move_in", "move_out", "death", "marriage", "pregnancy", "disaster", "care"}
KEYS = {"procedure_id", "name", "department", "category", "legal_basis", "standard_days", "fee", "approval_chain",
        "pittari", "life_events", "required_attachments", "portal", "form"}
PORTAL_KEYS = {"summary", "eligibility", "timing", "identity", "keywords", "easy", "en"}
#: optional portal keys: "online": false for procedures made at the counter only (the portal hides them)
OPTIONAL_PORTAL_KEYS = {"online"}
#: procedures that cannot be made online
COUNTER_ONLY = {"shimin-tennyu", "kokuho-shikaku-shutoku", "gakko-tennyugaku"}
VARIANT_KEYS = {"name", "summary", "eligibility", "timing"}
#: procedures that charge a fee (円 per request)
FEES = {"shimin-juminhyo": 300}


def test_there_are_exactly_34_and_27_are_kosodate_or_kaigo():
    assert len(SPECS) == 34
    categories = Counter(spec["category"] for spec in SPECS.values())
    assert categories["子育て"] + categories["介護"] == 27
    assert categories == {"子育て": 16, "介護": 11, "罹災": 1, "引越し": 4, "保険・年金": 1, "学校・教育": 1}
    departments = Counter(spec["department"] for spec in SPECS.values())
    assert departments["hoiku"] == 3 and departments["kikikanri"] == 1 and departments["shimin"] == 4
    assert departments["hoken"] == 1 and departments["gakko"] == 1


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture_metadata(path: Path):
    spec = json.loads(path.read_text(encoding="utf-8"))
    assert set(spec) == KEYS
    pid = spec["procedure_id"]
    assert path.stem == pid
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", pid)
    assert spec["department"] in DEPARTMENTS
    assert spec["category"] in CATEGORIES
    assert pid.startswith(PREFIX_BY_CATEGORY[spec["category"]])
    assert spec["name"] and spec["legal_basis"]
    assert isinstance(spec["standard_days"], int) and 0 <= spec["standard_days"] <= 60
    assert spec["fee"] == FEES.get(pid, 0)
    assert spec["approval_chain"] in ([], ["approver"])
    if spec["approval_chain"]:
        assert spec["standard_days"] > 0, "a decision needs a 標準処理期間"
    assert isinstance(spec["pittari"], bool)
    assert set(spec["life_events"]) <= LIFE_EVENTS
    assert all(isinstance(a, str) and a for a in spec["required_attachments"])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture_form_parses_and_is_sane(path: Path):
    spec = json.loads(path.read_text(encoding="utf-8"))
    definition = parse_definition(spec["form"])
    assert parse_definition(dump_definition(definition)) == definition
    walked = list(walk_fields(definition))
    assert any(f.required for _, f, _ in walked)
    top_ids = [f.id for _, f in definition.top_level_fields()]
    assert len(top_ids) == len(set(top_ids))
    section_ids = [s.id for s in definition.sections]
    assert len(section_ids) == len(set(section_ids))
    for _, f, _ in walked:
        if f.type == "group":
            ids = [c.id for c in f.fields]
            assert len(ids) == len(set(ids))
    rows = display_rows(definition, {})
    assert rows and all(r.display == "—" for r in rows if r.kind != "group_item")
    assert all(r.section_title for r in rows)


def test_ids_are_unique_and_names_distinct():
    assert len({spec["name"] for spec in SPECS.values()}) == 34
    assert len({spec["form"]["title"] for spec in SPECS.values()}) == 34


def types_of(pid: str) -> Counter[str]:
    definition = parse_definition(SPECS[pid]["form"])
    return Counter(f.type for _, f, _ in walk_fields(definition))


@pytest.mark.parametrize("pid", ["kosodate-jidoteate-nintei", "kaigo-yokaigo-nintei", "kosodate-kyufu-nintei",
                                 "kosodate-ninshin"])
def test_forms_that_carry_a_mynumber(pid: str):
    assert types_of(pid)["mynumber"] >= 1


# 介護保険被保険者証 is a card the resident hands in or mails (it is returned with the result), not an upload.
CARD_ONLY = {"kaigo-yokaigo-nintei", "kaigo-yokaigo-koshin", "kaigo-yokaigo-henko", "kaigo-kyotaku-keikaku"}


def test_required_documents_have_file_fields():
    for pid, spec in SPECS.items():
        if spec["required_attachments"] and pid not in CARD_ONLY:
            assert types_of(pid)["file"] >= 1, pid


def test_jidoteate_nintei_has_the_real_form_fields():
    definition = parse_definition(SPECS["kosodate-jidoteate-nintei"]["form"])
    fields = {f.id: f for _, f, _ in walk_fields(definition)}
    assert fields["applicant_name"].prefill == "resident.name"
    assert fields["applicant_mynumber"].required
    assert fields["children"].type == "group" and fields["children"].required
    assert fields["child_separate_address"].show_if.field == "child_living"
    assert fields["account_number"].pattern == "^[0-9]{7}$"
    assert fields["account_type"].type == "choice"
    assert fields["insurance_proof"].type == "file"


def test_hoiku_moshikomi_has_five_choices_and_parents():
    definition = parse_definition(SPECS["kosodate-hoiku-moshikomi"]["form"])
    fields = {f.id: f for _, f, _ in walk_fields(definition)}
    assert {f"choice_{i}" for i in range(1, 6)} <= set(fields)
    assert fields["guardians"].type == "group" and fields["need_reason"].type == "choice"
    assert SPECS["kosodate-hoiku-moshikomi"]["department"] == "hoiku"


def test_moving_procedures():
    out = SPECS["shimin-tenshutsu"]
    ids = {f.id for _, f, _ in walk_fields(parse_definition(out["form"]))}
    assert {"old_address", "new_address", "move_date", "movers", "mover_has_card", "notifier_phone"} <= ids
    yoyaku = SPECS["shimin-tennyu-yoyaku"]
    ids = {f.id for _, f, _ in walk_fields(parse_definition(yoyaku["form"]))}
    assert {"move_in_date", "visit_date", "new_address", "old_address", "movers"} <= ids
    assert out["life_events"] == ["move_out"] and yoyaku["life_events"] == ["move_in"]


def test_risai():
    spec = SPECS["risai-shomeisho"]
    assert spec["department"] == "kikikanri" and spec["life_events"] == ["disaster"]
    ids = {f.id for _, f, _ in walk_fields(parse_definition(spec["form"]))}
    assert {"disaster_date", "disaster_type", "property_address", "damage_description", "purposes"} <= ids


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_portal_texts(path: Path):
    spec = json.loads(path.read_text(encoding="utf-8"))
    portal = spec["portal"]
    assert PORTAL_KEYS <= set(portal) <= PORTAL_KEYS | OPTIONAL_PORTAL_KEYS
    assert portal.get("online", True) is (spec["procedure_id"] not in COUNTER_ONLY)
    for key in ("summary", "eligibility"):
        assert isinstance(portal[key], str) and portal[key].endswith("。"), key
        assert "である" not in portal[key], "です・ます調"
    assert isinstance(portal["timing"], str)
    assert portal["identity"] in ("card", "account")
    keywords = portal["keywords"]
    assert keywords and all(isinstance(k, str) and k.strip() == k and k for k in keywords)
    assert len(keywords) == len(set(keywords))
    for variant in ("easy", "en"):
        texts = portal[variant]
        assert set(texts) == VARIANT_KEYS, variant
        assert texts["name"] and texts["summary"] and texts["eligibility"], variant
        assert bool(texts["timing"]) == bool(portal["timing"]), f"{variant}: timing given in one version only"
    assert all(ord(c) < 0x3000 for c in portal["en"]["summary"] + portal["en"]["name"]), "English without Japanese"


def test_identity_card_wherever_the_form_asks_for_a_mynumber():
    for pid, spec in SPECS.items():
        if types_of(pid)["mynumber"]:
            assert spec["portal"]["identity"] == "card", pid
    assert SPECS["shimin-tenshutsu"]["portal"]["identity"] == "card"
    assert SPECS["shimin-juminhyo"]["portal"]["identity"] == "card"
    assert SPECS["kosodate-hoiku-moshikomi"]["portal"]["identity"] == "account"


def test_everyday_words_find_the_moving_procedures():
    for pid in ("shimin-tenshutsu", "shimin-tennyu-yoyaku"):
        keywords = SPECS[pid]["portal"]["keywords"]
        assert {"引っ越し", "ひっこし", "引越し"} <= set(keywords), pid
    assert "14日以内" in SPECS["shimin-tenshutsu"]["portal"]["timing"]
    assert "30日" in SPECS["shimin-tenshutsu"]["portal"]["timing"]


def test_juminhyo():
    spec = SPECS["shimin-juminhyo"]
    assert spec["department"] == "shimin" and spec["category"] == SPECS["shimin-tenshutsu"]["category"]
    assert spec["legal_basis"] == "住民基本台帳法第12条" and spec["fee"] == 300 and not spec["pittari"]
    assert spec["approval_chain"] == [] and spec["life_events"] == ["move_in"]
    assert "300円" in spec["portal"]["summary"]
    fields = {f.id: f for _, f, _ in walk_fields(parse_definition(spec["form"]))}
    assert fields["requester_name"].prefill == "resident.name"
    assert fields["requester_address"].prefill == "resident.address"
    assert [o.value for o in fields["scope"].options] == ["self", "household"]
    assert fields["include_mynumber"].type == "boolean" and not fields["include_mynumber"].required
    assert fields["purpose_other"].show_if.field == "purpose" and fields["purpose_other"].show_if.equals == "other"
    assert "copies" not in fields, "one copy per request"


def _fields(pid: str) -> dict[str, Any]:
    return {f.id: f for _, f, _ in walk_fields(parse_definition(SPECS[pid]["form"]))}


def test_department_short_names_fit_the_reception_number():
    from madoguchi.catalog.services import DEFAULT_DEPARTMENTS

    codes = {code for code, _, _ in DEFAULT_DEPARTMENTS}
    assert DEPARTMENTS <= codes
    assert all(1 <= len(short) <= 4 for _, _, short in DEFAULT_DEPARTMENTS)
    assert len({short for _, _, short in DEFAULT_DEPARTMENTS}) == len(DEFAULT_DEPARTMENTS)


# the counter copies household members into these groups: keep the ids
HOUSEHOLD_GROUPS = {
    "shimin-tennyu": ("movers", "mover_"),
    "kosodate-iryohi": ("children", "child_"),
    "kokuho-shikaku-shutoku": ("members", "member_"),
    "gakko-tennyugaku": ("students", "student_"),
}


@pytest.mark.parametrize("pid", sorted(HOUSEHOLD_GROUPS))
def test_move_in_procedures_take_household_members(pid: str):
    group_id, prefix = HOUSEHOLD_GROUPS[pid]
    spec = SPECS[pid]
    assert "move_in" in spec["life_events"]
    fields = _fields(pid)
    group = fields[group_id]
    assert group.type == "group" and group.required and group.min_items == 1
    inner = {f.id: f for f in group.fields}
    for suffix, type_ in (("name", "text"), ("kana", "kana"), ("birth_date", "date"), ("sex", "choice")):
        assert inner[prefix + suffix].type == type_ and inner[prefix + suffix].required, suffix
    assert [o.value for o in inner[prefix + "sex"].options] == ["1", "2"], "the register's codes (Resident.sex)"
    assert fields["declaration"].type == "boolean" and fields["declaration"].required
    applicant = next(f for f in fields.values() if f.prefill == "resident.name")
    assert applicant.type == "text"


def test_tennyu():
    spec = SPECS["shimin-tennyu"]
    assert spec["department"] == "shimin" and spec["category"] == SPECS["shimin-tenshutsu"]["category"]
    assert spec["legal_basis"].startswith("住民基本台帳法第22条")
    assert spec["standard_days"] == 0 and spec["approval_chain"] == [] and not spec["pittari"]
    assert spec["life_events"] == ["move_in"] and spec["portal"]["online"] is False
    assert "14日以内" in spec["portal"]["timing"]
    assert {"引っ越し", "ひっこし", "引越し"} <= set(spec["portal"]["keywords"])
    fields = _fields("shimin-tennyu")
    assert fields["new_address"].prefill == "resident.address"
    assert fields["new_postal_code"].prefill == "resident.postal_code"
    assert fields["notifier_kana"].prefill == "resident.name_kana"
    assert fields["move_in_date"].max == "today" and fields["move_in_date"].min is None, "late 届出 are accepted"
    assert {o.value for o in fields["moveout_basis"].options} >= {"tokurei", "certificate"}
    assert [o.value for o in fields["mover_relationship"].options][:4] == ["世帯主", "妻", "夫", "子"], \
        "values are the register's 続柄 (Resident.relationship)"
    assert fields["mover_mynumber_card"].type == "boolean" and not fields["mover_mynumber_card"].required


def test_kokuho_and_school_are_in_their_own_departments():
    kokuho = SPECS["kokuho-shikaku-shutoku"]
    assert kokuho["department"] == "hoken" and kokuho["legal_basis"] == "国民健康保険法第9条"
    fields = _fields("kokuho-shikaku-shutoku")
    assert fields["householder_mynumber"].type == "mynumber" and not fields["householder_mynumber"].required
    assert {o.value for o in fields["reason"].options} == {"move_in", "birth", "left_employee_insurance", "other"}
    assert fields["reason_other"].show_if.equals == "other"
    assert "member_previous_insurance" in fields and "member_relationship" in fields
    gakko = SPECS["gakko-tennyugaku"]
    assert gakko["department"] == "gakko" and gakko["portal"]["identity"] == "account"
    fields = _fields("gakko-tennyugaku")
    assert len(fields["student_grade"].options) == 9
    assert all(o.label.startswith("みどり") for o in fields["desired_school"].options)
    assert fields["enrollment_certificate"].type == "file" and not fields["enrollment_certificate"].required
    iryohi = SPECS["kosodate-iryohi"]
    assert iryohi["department"] == "kosodate" and iryohi["life_events"] == ["birth", "move_in"]
    assert "online" not in iryohi["portal"]
    fields = _fields("kosodate-iryohi")
    assert {"kokuho", "hiyosha"} <= {o.value for o in fields["guardian_insurance"].options}
    assert fields["insurance_card"].type == "file" and not fields["insurance_card"].required
