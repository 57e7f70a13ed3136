from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.nursery import io
from madoguchi.nursery.instance import Instance, NurseryInputError
from madoguchi.nursery.points import children_from_applicants, ruleset_from_json


class Command(BaseCommand):
    help = "利用調整基準（JSON）で申請者データから点数を計算し、ChilmAI 形式の申込者データ CSV を書く"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--applicants",
            required=True,
            type=Path,
            help="申請者データ CSV（事由・就労時間・調整項目・所得）",
        )
        parser.add_argument("--ruleset", required=True, type=Path, help="利用調整基準 JSON")
        parser.add_argument(
            "--out", required=True, type=Path, help="申込者データ CSV（点数・タイブレーク付き）"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        for key in ("applicants", "ruleset"):
            if not opts[key].is_file():
                raise CommandError(f"【nursery.file_missing】ファイルがありません: {opts[key]}", returncode=2)
        try:
            ruleset = ruleset_from_json(opts["ruleset"].read_text(encoding="utf-8-sig"))
            children = children_from_applicants(
                opts["applicants"].read_bytes(), ruleset, file=opts["applicants"].name
            )
        except NurseryInputError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"【{exc.code}】{exc.message} 何も書き出していません。", returncode=2) from exc
        io.write_children_csv(Instance((), tuple(children)), opts["out"])
        self.stdout.write(
            f"{opts['out']}: {len(children)} 人の点数を計算しました（基準: {ruleset.name or '名前なし'}）"
        )
