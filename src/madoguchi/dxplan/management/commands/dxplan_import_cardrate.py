"""``madoguchi dxplan_import_cardrate FILE [--date YYYY-MM-DD] --user NAME``: import a 総務省 table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.errors import MadoguchiError
from madoguchi.core.scope import staff_actor
from madoguchi.dxplan.services import cardrate_import


class Command(BaseCommand):
    help = (
        "マイナンバーカード交付枚数の表 (総務省公表の CSV/Excel) を取り込む。"
        "例: madoguchi dxplan_import_cardrate koufu.csv --date 2025-03-31 --user dx"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", help="CSV (UTF-8 / Shift_JIS) または .xlsx")
        parser.add_argument("--date", help="基準日 YYYY-MM-DD (表題に「令和N年M月D日現在」があれば省略可)")
        parser.add_argument("--user", required=True, help="取り込む職員のユーザー名 (DX推進 または 管理者)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"ファイル {path} がありません。", returncode=2)
        try:
            as_of = date.fromisoformat(opts["date"]) if opts.get("date") else None
        except ValueError as exc:
            raise CommandError(
                f"--date は YYYY-MM-DD で指定してください ({opts['date']})。", returncode=2
            ) from exc
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"ユーザー {opts['user']} はいません。", returncode=2)
        try:
            outcome = cardrate_import(
                actor=staff_actor(user), content=path.read_bytes(), filename=path.name, as_of=as_of
            )
        except MadoguchiError as exc:
            for problem in getattr(exc, "details", None) or []:
                self.stderr.write(f"【{problem['code']}】{problem['message']}")
            raise CommandError(str(exc), returncode=1) from exc
        record = outcome.record
        if outcome.created:
            self.stdout.write(
                f"OK {record.as_of} の表を取り込みました ({record.row_count} 行, sha256 {record.sha256[:12]})。"
            )
        else:
            self.stdout.write(
                f"OK 同じファイルは取込済みです ({record.as_of}, {record.row_count} 行)。何も変更していません。"
            )
