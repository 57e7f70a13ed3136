"""``madoguchi jp …``: the Japanese domain library from the operator's console.

Subcommands: ``wareki``, ``seireki``, ``business-days add|between``, ``normalize``,
``mynumber-check``, ``municipality-code-check``, ``postal``. Invalid input prints a Japanese
message on stderr and exits with status 1. A 個人番号 is never echoed back.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from madoguchi.core.jp.business_days import add_business_days, business_days_between
from madoguchi.core.jp.codes import (
    is_valid_municipality_code,
    municipality_check_digit,
    mynumber_check_digit,
    normalize_mynumber,
)
from madoguchi.core.jp.normalize import search_key
from madoguchi.core.jp.postal import format_postal_code, lookup
from madoguchi.core.jp.wareki import parse_date_any, parse_wareki, to_wareki
from madoguchi.core.models import ClosedDay, Municipality


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=1)


class Command(BaseCommand):
    help = "和暦・開庁日・検索キー・個人番号/団体コードの検査数字・郵便番号を扱う運用コマンドです。"
    # A pure utility: it must keep working (and stay fast) whatever state the rest of the project is in.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="サブコマンド")

        p = sub.add_parser("wareki", help="西暦の日付を和暦で表示します（例: 2019-05-01 → 令和元年5月1日）。")
        p.add_argument("date", help="日付（2019-05-01、2019/5/1 など。和暦も可）")

        p = sub.add_parser("seireki", help="和暦の日付を西暦（YYYY-MM-DD）で表示します。")
        p.add_argument("date", help="和暦の日付（令和7年4月1日、R7.4.1 など）")

        p = sub.add_parser("business-days", help="開庁日の計算をします。")
        bd = p.add_subparsers(dest="business_action", required=True, metavar="操作")
        add = bd.add_parser("add", help="開始日からN開庁日後の日付を表示します（Nが負なら前）。")
        add.add_argument("start", help="開始日")
        add.add_argument("days", help="開庁日数（整数）")
        between = bd.add_parser("between", help="開始日の翌日から終了日までの開庁日数を表示します。")
        between.add_argument("start", help="開始日")
        between.add_argument("end", help="終了日")
        for action_parser in (add, between):
            action_parser.add_argument(
                "--municipality",
                metavar="団体コード",
                help="この自治体の独自閉庁日も休みとして数えます（6桁の全国地方公共団体コード）。",
            )

        p = sub.add_parser("normalize", help="氏名などの検索キー（正規化した文字列）を表示します。")
        p.add_argument("text", help="正規化する文字列")

        p = sub.add_parser(
            "mynumber-check",
            help="個人番号の検査数字を確かめます。番号を省略するか - を指定すると標準入力から読みます。",
        )
        p.add_argument(
            "number", nargs="?", default="-", help="個人番号（12桁）。シェルの履歴に残さないには省略"
        )

        p = sub.add_parser(
            "municipality-code-check", help="全国地方公共団体コード（6桁）の検査数字を確かめます。"
        )
        p.add_argument("code", help="団体コード（6桁）")

        p = sub.add_parser("postal", help="郵便番号から住所を表示します（候補ごとに1行）。")
        p.add_argument("postal_code", help="郵便番号（1000013、100-0013 など）")

    def handle(self, *args: Any, **options: Any) -> None:
        handlers = {
            "wareki": self._wareki,
            "seireki": self._seireki,
            "business-days": self._business_days,
            "normalize": self._normalize,
            "mynumber-check": self._mynumber_check,
            "municipality-code-check": self._municipality_code_check,
            "postal": self._postal,
        }
        try:
            handlers[options["subcommand"]](options)
        except ValueError as exc:
            raise _fail(str(exc)) from None

    # --- subcommands -----------------------------------------------------------------------------

    def _wareki(self, options: dict[str, Any]) -> None:
        self.stdout.write(to_wareki(parse_date_any(options["date"])))

    def _seireki(self, options: dict[str, Any]) -> None:
        self.stdout.write(parse_wareki(options["date"]).isoformat())

    def _business_days(self, options: dict[str, Any]) -> None:
        closed = self._closed_days(options.get("municipality"))
        start = parse_date_any(options["start"])
        if options["business_action"] == "add":
            days = self._parse_int(options["days"])
            self.stdout.write(add_business_days(start, days, closed).isoformat())
        else:
            end = parse_date_any(options["end"])
            self.stdout.write(str(business_days_between(start, end, closed)))

    def _normalize(self, options: dict[str, Any]) -> None:
        self.stdout.write(search_key(options["text"]))

    def _mynumber_check(self, options: dict[str, Any]) -> None:
        raw = options["number"]
        if raw == "-":
            raw = sys.stdin.readline().strip()
        digits = normalize_mynumber(raw)  # ValueError message does not contain the number
        if mynumber_check_digit(digits[:11]) != int(digits[11]):
            raise _fail("個人番号の検査数字が一致しません")
        self.stdout.write("OK")

    def _municipality_code_check(self, options: dict[str, Any]) -> None:
        code = options["code"].strip()
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise _fail(f"団体コードは半角数字6桁で指定してください: {code!r}")
        if not is_valid_municipality_code(code):
            expected = municipality_check_digit(code[:5])
            raise _fail(f"団体コードの検査数字が一致しません: {code!r}（{code[:5]} の検査数字は {expected}）")
        self.stdout.write(f"OK {code}")

    def _postal(self, options: dict[str, Any]) -> None:
        candidates = lookup(options["postal_code"])
        if not candidates:
            raise _fail("該当する住所がありません")
        for candidate in candidates:
            self.stdout.write(f"{format_postal_code(candidate.postal_code)} {candidate.full()}")

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _parse_int(text: str) -> int:
        cleaned = text.strip().translate(str.maketrans("０１２３４５６７８９－＋", "0123456789-+"))
        try:
            return int(cleaned)
        except ValueError:
            raise _fail(f"開庁日数は整数で指定してください: {text!r}") from None

    @staticmethod
    def _closed_days(code: str | None) -> frozenset[date]:
        """The municipality's own closed days (ClosedDay), or none without --municipality."""
        if code is None:
            return frozenset()
        code = code.strip()
        try:
            municipality = Municipality.objects.get(code=code)
            dates = ClosedDay.objects.filter(municipality=municipality).values_list("date", flat=True)
            return frozenset(dates)
        except Municipality.DoesNotExist:
            raise _fail(f"団体コード {code!r} の自治体は登録されていません") from None
        except DatabaseError as exc:
            raise _fail(
                f"データベースから独自閉庁日を読めません（madoguchi migrate は済んでいますか）: {exc}"
            ) from None
