"""Search keys for names, and the カナ helpers."""

from __future__ import annotations

import unicodedata

import jaconv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.core.jp.kana import (
    hiragana_to_katakana,
    is_katakana_name,
    to_hankaku_digits,
    to_katakana,
    to_zenkaku_digits,
)
from madoguchi.core.jp.normalize import ITAIJI, search_key

# --- search_key: examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ﾔﾏﾀﾞ　髙橋", "ヤマダ高橋"),
        ("やまだ たろう", "ヤマダタロウ"),
        ("ヤマダ　タロウ", "ヤマダタロウ"),
        ("ﾊﾟﾄﾘｯｸ", "パトリック"),
        ("ジョン・スミス", "ジョンスミス"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジョンスミス"),
        ("Ｓｍｉｔｈ　John", "smithjohn"),
        ("渡邉　﨑子", "渡辺崎子"),
        ("齋藤", "斎藤"),
        ("齊藤", "斎藤"),
        ("斉藤", "斎藤"),
        ("濵田", "浜田"),
        ("濱田", "浜田"),
        ("櫻井", "桜井"),
        ("德川", "徳川"),
        ("𠮷田", "吉田"),
        ("\uf9dc", "隆"),  # CJK compatibility ideograph, folded by NFKC
        ("\ufa19", "神"),
        ("葛\U000e0100城", "葛城"),  # IVS is dropped
        ("ｻｰﾋﾞｽ", "サービス"),
        ("サ－ビス", "サービス"),  # 全角 hyphen-minus
        ("サ‐ビス", "サービス"),  # U+2010
        ("サ-ビス", "サービス"),
        ("か\u3000゛", "ガ"),  # a dakuten separated by a space still joins
        ("", ""),
    ],
)
def test_search_key_examples(text: str, expected: str) -> None:
    assert search_key(text) == expected


def test_small_kana_and_vu_are_kept() -> None:
    assert search_key("ハットリ") != search_key("ハツトリ")
    assert search_key("キャ") != search_key("キヤ")
    assert search_key("ヴィ") == "ヴィ"
    assert search_key("ゔぃ") == "ヴィ"


def test_itaiji_table_is_sound() -> None:
    assert len(ITAIJI) >= 80
    for variant, common in ITAIJI.items():
        assert variant != common
        assert common not in ITAIJI, f"{common} is both a target and a source"
        assert unicodedata.normalize("NFKC", common) == common
        # NFKC either leaves the variant alone or already folds it to the same target
        assert unicodedata.normalize("NFKC", variant) in (variant, common)
        assert search_key(variant) == search_key(common) == common


def test_stored_name_is_not_changed() -> None:
    name = "髙橋　﨑子"
    search_key(name)
    assert name == "髙橋　﨑子"


# --- search_key: properties ------------------------------------------------------------------------

KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7)) + "ーヽヾ"
NAME_ALPHABET = KATAKANA + "山田太郎髙橋﨑崎齋藤渡邉辺ABCxyz0123 　・"
# characters chosen to stress composition: combining marks, spaces, half-width, variation selectors
TRICKY_ALPHABET = (
    "かきわゐゑをカワヰヱヲｶｷﾜｦﾞﾟ゛゜\u3099\u309a ー－ｰ-‐・･　aAＡÅ\u0301髙高﨑齋ゟゝゞヽヾ\ufe00\U000e0100İß"
)


@settings(max_examples=300)
@given(st.text())
def test_search_key_idempotent(text: str) -> None:
    key = search_key(text)
    assert search_key(key) == key


@settings(max_examples=500)
@given(st.text(alphabet=TRICKY_ALPHABET))
def test_search_key_idempotent_tricky(text: str) -> None:
    key = search_key(text)
    assert search_key(key) == key


@given(st.text(alphabet=NAME_ALPHABET))
def test_search_key_insensitive_to_kana_form_and_width(text: str) -> None:
    key = search_key(text)
    assert search_key(jaconv.kata2hira(text)) == key
    assert search_key(jaconv.hira2kata(jaconv.kata2hira(text))) == key
    assert search_key(jaconv.z2h(text, kana=True, ascii=True, digit=True)) == key
    assert search_key(jaconv.h2z(text, kana=True, ascii=True, digit=True)) == key
    assert search_key(text.lower()) == search_key(text.upper())


@given(st.text(alphabet=NAME_ALPHABET))
def test_search_key_ignores_spaces(text: str) -> None:
    spaced = "　".join(text) + " "
    assert search_key(spaced) == search_key(text)
    assert not any(ch.isspace() for ch in search_key(spaced))


# --- kana helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("やまだ たろう", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ﾊﾟﾊﾟ", "パパ"),
        ("ｳﾞｨｰﾅｽ", "ヴィーナス"),
        ("ゔぁいおりん", "ヴァイオリン"),
        ("こゝろ", "コヽロ"),
        ("山田 ﾀﾛｳ", "山田 タロウ"),
        ("ABC１２３", "ABC１２３"),  # only kana is touched
        ("ヤマダ", "ヤマダ"),
    ],
)
def test_to_katakana(text: str, expected: str) -> None:
    assert to_katakana(text) == expected


def test_hiragana_to_katakana_covers_the_block() -> None:
    hiragana = "".join(chr(c) for c in range(0x3041, 0x3097))
    assert hiragana_to_katakana(hiragana) == "".join(chr(c) for c in range(0x30A1, 0x30F7))


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("ヤマダ タロウ", True),
        ("ヤマダ　タロウ", True),
        ("ジョン・スミス", True),
        ("ヴィーナス", True),
        ("ヤマダ", True),
        ("やまだ", False),
        ("ﾔﾏﾀﾞ", False),
        ("山田", False),
        ("YAMADA", False),
        ("ヤマダ1", False),
        ("", False),
        ("　", False),
        ("ー・", False),
    ],
)
def test_is_katakana_name(text: str, ok: bool) -> None:
    assert is_katakana_name(text) is ok


KANA_TOKENS = [*"あいうえおかがぱっゃゔーｱｲｳｯｬｰ 　・", "ｶﾞ", "ﾊﾟ", "ｳﾞ", "か\u3099"]


@given(st.lists(st.sampled_from(KANA_TOKENS)).map("".join))
def test_to_katakana_then_valid(text: str) -> None:
    converted = to_katakana(text)
    assert to_katakana(converted) == converted
    if any(ch not in " 　・ー" for ch in converted):
        assert is_katakana_name(converted)


def test_digit_width() -> None:
    assert to_zenkaku_digits("令和7年12月") == "令和７年１２月"
    assert to_hankaku_digits("令和７年１２月") == "令和7年12月"
    assert to_hankaku_digits(to_zenkaku_digits("0123456789")) == "0123456789"
