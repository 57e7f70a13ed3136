import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from madoguchi.applications.models import Application
from madoguchi.applications.services import status_counts_rebuild
from madoguchi.core.models import Municipality


class Command(BaseCommand):
    help = "申請の集計などの運用コマンド。例: madoguchi applications stats --json"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        stats = sub.add_parser("stats", help="状態別・受付経路別の件数")
        stats.add_argument("--json", action="store_true", help="JSON で出力")
        stats.add_argument("--municipality", help="全国地方公共団体コード (省略時は全団体)")
        sub.add_parser("recount", help="受付一覧の状態別件数 (集計表) を申請から作り直す (一括投入の後など)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["action"] == "recount":
            rows = status_counts_rebuild()
            self.stdout.write(f"OK 状態別件数を作り直しました ({rows} 行)。")
            return
        qs = Application.objects.all()
        if opts.get("municipality"):
            municipality = Municipality.objects.filter(code=opts["municipality"]).first()
            if municipality is None:
                raise CommandError(
                    f"団体コード {opts['municipality']} の自治体は登録されていません。", returncode=1
                )
            qs = qs.filter(municipality=municipality)
        by_status: dict[str, int] = {}
        for row in qs.values("status__name").annotate(n=Count("id")).order_by("status__name"):
            by_status[row["status__name"]] = by_status.get(row["status__name"], 0) + row["n"]
        by_channel = {
            row["channel"]: row["n"] for row in qs.values("channel").annotate(n=Count("id")).order_by()
        }
        result = {"total": qs.count(), "by_status": by_status, "by_channel": by_channel}
        if opts["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=True))
        else:
            self.stdout.write(f"合計 {result['total']} 件")
            for name, n in by_status.items():
                self.stdout.write(f"  {name}: {n}")
            for name, n in by_channel.items():
                self.stdout.write(f"  [{name}] {n}")
