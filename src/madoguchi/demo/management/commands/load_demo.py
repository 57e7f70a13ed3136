import logging
import time

from django.core.management.base import BaseCommand

from madoguchi.demo.services import demo_load


class Command(BaseCommand):
    help = "デモ自治体 (みどり市) の職員・住民・申請を読み込みます (何度実行しても同じ結果)。"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--applications", type=int, default=2000, help="申請の件数 (既定 2000)")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        started = time.monotonic()
        audit_log = logging.getLogger("madoguchi.audit")
        level = audit_log.level
        audit_log.setLevel(logging.WARNING)  # thousands of demo rows: audited in the DB, not echoed
        try:
            summary = demo_load(applications=opts["applications"], seed=opts["seed"])
        finally:
            audit_log.setLevel(level)
        self.stdout.write(
            f"デモデータ: {summary.municipality} ({summary.municipality.code}) 申請 {summary.applications} 件 "
            f"[{time.monotonic() - started:.1f}秒]"
        )
