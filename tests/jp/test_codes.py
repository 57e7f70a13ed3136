"""個人番号 and 全国地方公共団体コード check digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.jp.codes import (
    is_valid_municipality_code,
    is_valid_mynumber,
    municipality_check_digit,
    mynumber_check_digit,
    normalize_mynumber,
)

# --- 個人番号 ---------------------------------------------------------------------------------------


def _mynumber_remainder(first11: str) -> int:
    weights = [n + 1 if n <= 6 else n - 5 for n in range(1, 12)]
    return sum(int(p) * q for p, q in zip(reversed(first11), weights, strict=True)) % 11


def test_known_mynumber() -> None:
    assert mynumber_check_digit("12345678901") == 8
    assert is_valid_mynumber("123456789018")


@pytest.mark.parametrize(
    "value",
    ["1234 5678 9018", "1234-5678-9018", "1234　5678　9018", " 123456789018 "],
)
def test_mynumber_separators_are_ignored(value: str) -> None:
    assert is_valid_mynumber(value)
    assert normalize_mynumber(value) == "123456789018"


@pytest.mark.parametrize(
    "value",
    [
        "123456789019",  # wrong check digit
        "12345678901",  # 11 digits
        "1234567890180",  # 13 digits
        "１２３４５６７８９０１８",  # 全角 digits are rejected on purpose
        "12345678901a",
        "",
        "١٢٣٤٥٦٧٨٩٠١٨",  # other Unicode digits
    ],
)
def test_invalid_mynumbers(value: str) -> None:
    assert not is_valid_mynumber(value)


def test_is_valid_mynumber_rejects_non_strings() -> None:
    assert not is_valid_mynumber(123456789018)  # type: ignore[arg-type]


@pytest.mark.parametrize("first11", ["1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１"])
def test_mynumber_check_digit_rejects_bad_input_without_echoing_it(first11: str) -> None:
    with pytest.raises(ValueError, match="半角数字11桁") as excinfo:
        mynumber_check_digit(first11)
    assert first11 not in str(excinfo.value)


def test_normalize_mynumber_does_not_echo() -> None:
    with pytest.raises(ValueError, match="半角数字12桁") as excinfo:
        normalize_mynumber("12345678901X")
    assert "12345678901" not in str(excinfo.value)


def test_mynumber_remainders_0_and_1_both_give_0() -> None:
    zero = next(f"{i:011d}" for i in range(1000) if _mynumber_remainder(f"{i:011d}") == 0)
    one = next(f"{i:011d}" for i in range(1000) if _mynumber_remainder(f"{i:011d}") == 1)
    assert mynumber_check_digit(zero) == 0
    assert mynumber_check_digit(one) == 0


first11s = st.text(alphabet="0123456789", min_size=11, max_size=11)


@given(first11s)
def test_generated_mynumbers_are_valid(first11: str) -> None:
    number = first11 + str(mynumber_check_digit(first11))
    assert is_valid_mynumber(number)
    assert 0 <= mynumber_check_digit(first11) <= 9


@given(first11s, st.integers(min_value=0, max_value=11), st.integers(min_value=1, max_value=9))
def test_single_digit_change_is_detected(first11: str, position: int, delta: int) -> None:
    number = first11 + str(mynumber_check_digit(first11))
    changed_digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(changed_digit) + number[position + 1 :]
    if position == 11 or _mynumber_remainder(first11) not in (0, 1):
        # Q_n is 2..7 and the digit changes by 1..9: neither is a multiple of 11, so the remainder
        # changes. Only the two remainders 0 and 1 share a check digit (0), so an error can slip
        # through only when the original remainder is 0 or 1 and the changed one is the other.
        assert not is_valid_mynumber(changed)
    else:
        assert is_valid_mynumber(changed) == (_mynumber_remainder(changed[:11]) in (0, 1))


# --- 全国地方公共団体コード ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "131016",  # 千代田区
        "131024",  # 中央区
        "131059",  # 文京区
        "011002",  # 札幌市
        "012025",  # 函館市
        "271004",  # 大阪市
        "401307",  # 福岡市
        "130001",  # 東京都
        "110001",  # 埼玉県: remainder 0 → check digit 1
        "090000",  # 栃木県: remainder 1 → check digit 0
        "330001",  # 岡山県: remainder 0 → 1
        "470007",  # 沖縄県
    ],
)
def test_known_municipality_codes(code: str) -> None:
    assert is_valid_municipality_code(code)
    assert municipality_check_digit(code[:5]) == int(code[5])


@pytest.mark.parametrize(
    "code",
    ["131017", "13101", "1310160", "13101a", "１３１０１６", "", " 131016", "011003"],
)
def test_invalid_municipality_codes(code: str) -> None:
    assert not is_valid_municipality_code(code)


def test_municipality_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="半角数字5桁"):
        municipality_check_digit("1310")


def test_municipality_remainder_10_gives_1() -> None:
    # 6*1 + 5*1 + 4*0 + 3*0 + 2*5 = 21 → r = 10 → 11 - 10 = 1
    assert municipality_check_digit("11005") == 1


first5s = st.text(alphabet="0123456789", min_size=5, max_size=5)


@given(first5s)
def test_generated_municipality_codes_are_valid(first5: str) -> None:
    assert is_valid_municipality_code(first5 + str(municipality_check_digit(first5)))


@given(first5s, st.integers(min_value=0, max_value=5), st.integers(min_value=1, max_value=9))
def test_municipality_single_digit_change(first5: str, position: int, delta: int) -> None:
    code = first5 + str(municipality_check_digit(first5))
    changed = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1 :]
    if position == 5:
        assert not is_valid_municipality_code(changed)
    else:
        # The remainder always changes, but r = 0 and r = 10 share check digit 1, so a change is
        # caught unless it moves the remainder between those two.
        remainder = sum(int(ch) * w for ch, w in zip(first5, (6, 5, 4, 3, 2), strict=True)) % 11
        new_remainder = sum(int(ch) * w for ch, w in zip(changed[:5], (6, 5, 4, 3, 2), strict=True)) % 11
        assert new_remainder != remainder
        slipped = {remainder, new_remainder} == {0, 10}
        assert is_valid_municipality_code(changed) is slipped
