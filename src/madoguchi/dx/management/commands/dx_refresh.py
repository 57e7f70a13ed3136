from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.models import Municipality
from madoguchi.dx.services import kpi_refresh


class Command(BaseCommand):
    help = "DX推進ダッシュボードの集計（KPI）を最新のデータで作り直す"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--municipality", help="団体コード（省略時はすべての団体）")

    def handle(self, *args: Any, **opts: Any) -> None:
        municipalities = Municipality.objects.all()
        if opts["municipality"]:
            municipalities = municipalities.filter(code=opts["municipality"])
            if not municipalities.exists():
                raise CommandError(
                    f"[dx.municipality_unknown] 団体コード {opts['municipality']} は登録されていません。"
                )
        for m in municipalities:
            result = kpi_refresh(municipality=m)
            self.stdout.write(f"{m.code} {m.name}: {result.rows} 行, {result.seconds:.2f} 秒")
