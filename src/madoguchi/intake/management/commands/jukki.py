from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.errors import MadoguchiError
from madoguchi.core.models import Municipality
from madoguchi.demo.services import demo_municipality_code
from madoguchi.intake.services import certificate_links_import, links_csv_rows


class Command(BaseCommand):
    help = "住基側からの連携。例: madoguchi jukki import-links FILE.csv (シリアル番号の紐付情報, ②-1)"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        links = sub.add_parser("import-links", help="紐付情報 CSV を反映する (何度実行しても同じ結果)")
        links.add_argument("file")
        links.add_argument("--municipality", default=None, help="団体コード (省略時はデモのみどり市)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        code = opts["municipality"] or demo_municipality_code()
        municipality = Municipality.objects.filter(code=code).first()
        if municipality is None:
            raise CommandError(f"団体コード {code} の自治体は登録されていません。", returncode=1)
        try:
            rows = links_csv_rows(Path(opts["file"]).read_text(encoding="utf-8-sig"))
            counts = certificate_links_import(municipality=municipality, rows=rows, source="jukki import-links")
        except (OSError, MadoguchiError) as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(
            f"{counts['linked']} linked, {counts['updated']} updated, {counts['revoked']} revoked, "
            f"{counts['unchanged']} unchanged"
        )
