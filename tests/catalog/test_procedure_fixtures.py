"""The 30 bundled procedure fixtures: 26 子育て・介護 + 罹災証明書 + 転出届・転入予約 + 住民票の写し."""

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

DEPARTMENTS = {"shimin", "kosodate", "hoiku", "kaigo", "kikikanri"}
CATEGORIES = {"子育て", "介護", "引越し", "罹災"}
PREFIX_BY_CATEGORY = {"子育て": "kosodate-", "介護": "kaigo-", "引越し": "shimin-", "罹災": "risai-"}
LIFE_EVENTS = {"birth", "move_in", "move_out", "death", "marriage", "pregnancy", "disaster", "care"}
KEYS = {"procedure_id", "name", "department", "category", "legal_basis", "standard_days", "fee", "approval_chain",
        "pittari", "life_events", "required_attachments", "portal", "form"}
PORTAL_KEYS = {"summary", "eligibility", "timing", "identity", "keywords", "easy", "en"}
VARIANT_KEYS = {"name", "summary", "eligibility", "timing"}
#: procedures that charge a fee (円 per request)
FEES = {"shimin-juminhyo": 300}


def test_there_are_exactly_30_and_26_are_kosodate_or_kaigo():
    assert len(SPECS) == 30
    categories = Counter(spec["category"] for spec in SPECS.values())
    assert categories["子育て"] + categories["介護"] == 26
    assert categories == {"子育て": 15, "介護": 11, "罹災": 1, "引越し": 3}
    departments = Counter(spec["department"] for spec in SPECS.values())
    assert departments["hoiku"] == 3 and departments["kikikanri"] == 1 and departments["shimin"] == 3


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
    assert len({spec["name"] for spec in SPECS.values()}) == 30
    assert len({spec["form"]["title"] for spec in SPECS.values()}) == 30


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
    assert set(portal) == PORTAL_KEYS
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
