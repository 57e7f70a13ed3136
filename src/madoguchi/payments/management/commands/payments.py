"""``madoguchi payments check|expire|demo-webhook``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.core.errors import MadoguchiError
from madoguchi.payments import demo
from madoguchi.payments.gateways import gateways
from madoguchi.payments.services import payment_expire_stale


class Command(BaseCommand):
    help = "手数料の支払い: 決済方法の設定確認、期限切れ処理、デモ決済の通知 (重複・遅延) 送信"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="各決済方法の設定を確認する")
        expire = sub.add_parser("expire", help="支払待ちのまま放置された支払いを期限切れにする")
        expire.add_argument("--minutes", type=int, default=60)
        hook = sub.add_parser("demo-webhook", help="デモ決済の通知を送る (held / duplicate / late)")
        hook.add_argument("token", help="デモ決済のトークン (/pay/demo/checkout/<token>/)")
        hook.add_argument("what", choices=["held", "duplicate", "late"])
        hook.add_argument("--late", choices=sorted(demo.CHOICES), default="fail", help="遅れて送る結果")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "check":
            bad = False
            for plugin in gateways:
                problems = plugin.check_config()
                bad = bad or bool(problems)
                status = "OK" if not problems else "NG"
                self.stdout.write(f"{plugin.key}\t{status}\t{'; '.join(problems)}".rstrip())
            if bad:
                raise CommandError("設定に問題があります")
        elif action == "expire":
            n = payment_expire_stale(older_than=timedelta(minutes=options["minutes"]))
            self.stdout.write(f"expired {n}")
        else:
            try:
                outcome = demo.demo_send(
                    token=options["token"], what=options["what"], late_choice=options["late"]
                )
            except MadoguchiError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{outcome.outcome} changed={outcome.changed} state={outcome.state}")
