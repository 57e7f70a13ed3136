"""``madoguchi jp …`` management command."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("jp", *args, stdout=out)
    return out.getvalue()


def fails(*args: str) -> CommandError:
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    assert excinfo.value.returncode == 1
    return excinfo.value


def test_wareki() -> None:
    assert run("wareki", "2019-05-01") == "令和元年5月1日\n"
    assert run("wareki", "2019/4/30") == "平成31年4月30日\n"


def test_wareki_rejects_bad_date() -> None:
    assert "日付として読めません" in str(fails("wareki", "tomorrow"))
    assert "1873年1月1日" in str(fails("wareki", "1800-01-01"))


def test_seireki() -> None:
    assert run("seireki", "平成31年4月30日") == "2019-04-30\n"
    assert run("seireki", "R7.4.1") == "2025-04-01\n"


def test_seireki_rejects_out_of_era() -> None:
    assert "平成31年4月30日まで" in str(fails("seireki", "平成31年5月1日"))
    assert "和暦の日付として読めません" in str(fails("seireki", "2019-05-01"))


def test_business_days_add() -> None:
    assert run("business-days", "add", "2026-12-25", "3") == "2027-01-05\n"
    assert run("business-days", "add", "2027-01-05", "-3") == "2026-12-25\n"
    assert run("business-days", "add", "令和8年12月25日", "0") == "2026-12-25\n"


def test_business_days_add_rejects_non_integer() -> None:
    assert "整数" in str(fails("business-days", "add", "2026-12-25", "three"))


def test_business_days_between() -> None:
    assert run("business-days", "between", "2026-12-25", "2027-01-10") == "6\n"
    assert run("business-days", "between", "2027-01-10", "2026-12-25") == "-6\n"


def test_business_days_bad_date() -> None:
    assert "日付として読めません" in str(fails("business-days", "between", "2026-12-25", "someday"))


@pytest.mark.django_db
def test_business_days_with_municipality_closed_days() -> None:
    from madoguchi.core.models import ClosedDay, Municipality

    chiyoda = Municipality.objects.create(code="131016", name="千代田区", prefecture="東京都")
    ClosedDay.objects.create(municipality=chiyoda, date=date(2026, 12, 28), reason="臨時閉庁")
    assert run("business-days", "add", "2026-12-25", "3", "--municipality", "131016") == "2027-01-06\n"
    assert run("business-days", "add", "2026-12-25", "3") == "2027-01-05\n"
    assert run("business-days", "between", "2026-12-25", "2027-01-10", "--municipality", "131016") == "5\n"


@pytest.mark.django_db
def test_business_days_unknown_municipality() -> None:
    error = fails("business-days", "add", "2026-12-25", "3", "--municipality", "271004")
    assert "271004" in str(error)
    assert "登録されていません" in str(error)


def test_normalize() -> None:
    assert run("normalize", "ﾔﾏﾀﾞ　髙橋") == "ヤマダ高橋\n"


def test_mynumber_check_ok() -> None:
    assert run("mynumber-check", "123456789018") == "OK\n"
    assert run("mynumber-check", "1234-5678-9018") == "OK\n"


def test_mynumber_check_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("123456789018\n"))
    assert run("mynumber-check") == "OK\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("123456789019\n"))
    assert "検査数字が一致しません" in str(fails("mynumber-check", "-"))


@pytest.mark.parametrize("number", ["123456789019", "12345678901", "１２３４５６７８９０１８", "abc"])
def test_mynumber_check_never_echoes_the_number(number: str) -> None:
    message = str(fails("mynumber-check", number))
    assert "個人番号" in message
    assert number not in message
    assert "12345678901" not in message


def test_mynumber_check_mismatch_message() -> None:
    assert str(fails("mynumber-check", "123456789019")) == "個人番号の検査数字が一致しません"


def test_municipality_code_check() -> None:
    assert run("municipality-code-check", "131016") == "OK 131016\n"
    assert run("municipality-code-check", "090000") == "OK 090000\n"


@pytest.mark.parametrize(("code", "message"), [("131017", "検査数字が一致しません"), ("13101", "6桁")])
def test_municipality_code_check_invalid(code: str, message: str) -> None:
    assert message in str(fails("municipality-code-check", code))


def test_postal() -> None:
    assert run("postal", "1000013") == "100-0013 東京都千代田区霞が関\n"
    assert run("postal", "〒１００－００１３") == "100-0013 東京都千代田区霞が関\n"
    assert run("postal", "0680546") == "068-0546 北海道夕張市南部青葉町\n068-0546 北海道夕張市南部菊水町\n"


def test_postal_not_found() -> None:
    assert str(fails("postal", "9999999")) == "該当する住所がありません"


def test_postal_malformed() -> None:
    assert "郵便番号は7桁の数字" in str(fails("postal", "12-34"))
