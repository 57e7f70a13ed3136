"""保育所利用調整: ``madoguchi nursery match|generate``. Thin: read, solve, verify, write, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.nursery import io
from madoguchi.nursery.generate import generate_instance
from madoguchi.nursery.instance import AGES, NurseryInputError
from madoguchi.nursery.solvers import solvers
from madoguchi.nursery.verify import verify


class Command(BaseCommand):
    help = "保育所の入所選考 (match / generate)。例: madoguchi nursery match --children C.csv --facilities F.csv --out R.csv"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        match = sub.add_parser("match", help="ChilmAI 形式の CSV を読み、選考して結果を書く")
        match.add_argument("--children", required=True, type=Path, help="申込者データ CSV")
        match.add_argument("--facilities", required=True, type=Path, help="保育所データ CSV")
        match.add_argument("--combinations", type=Path, help="組み合わせファイル CSV (任意)")
        match.add_argument("--solver", default="exact", choices=solvers.keys())
        match.add_argument("--time-limit", type=float, default=None, help="探索の制限時間（秒, exact）")
        match.add_argument("--out", required=True, type=Path, help="結果 CSV (UTF-8 BOM)")
        match.add_argument("--xlsx", type=Path, help="結果 Excel")
        match.add_argument("--summary", type=Path, help="集計 JSON")
        gen = sub.add_parser("generate", help="試験用の申込者・保育所データを作る (ChilmAI 形式)")
        gen.add_argument("--children", type=int, required=True)
        gen.add_argument("--facilities", type=int, required=True)
        gen.add_argument("--seed", type=int, default=0)
        gen.add_argument("--out", type=Path, required=True, help="出力ディレクトリ")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "generate":
            self._generate(opts)
        else:
            self._match(opts)

    def _generate(self, opts: dict[str, Any]) -> None:
        out: Path = opts["out"]
        out.mkdir(parents=True, exist_ok=True)
        instance = generate_instance(
            children=opts["children"], facilities=opts["facilities"], seed=opts["seed"]
        )
        io.write_children_csv(instance, out / "children.csv")
        io.write_facilities_csv(instance, out / "facilities.csv")
        families = sum(1 for u in instance.units if u.is_family)
        transfers = sum(1 for c in instance.children if c.current)
        self.stdout.write(
            f"{out}/children.csv ({len(instance.children)} 人, きょうだい世帯 {families}, 転園 {transfers}), "
            f"{out}/facilities.csv ({len(instance.facilities)} 施設)"
        )

    def _match(self, opts: dict[str, Any]) -> None:
        for key in ("children", "facilities", "combinations"):
            path = opts.get(key)
            if path is not None and not path.is_file():
                raise CommandError(f"【nursery.file_missing】ファイルがありません: {path}", returncode=2)
        try:
            instance = io.read_instance(opts["children"], opts["facilities"], opts.get("combinations"))
        except NurseryInputError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"【{exc.code}】{exc.message} 選考は実行していません。", returncode=2) from exc
        result = solvers[opts["solver"]].solve(instance, time_limit=opts.get("time_limit"))
        report = verify(instance, result)
        io.write_result_csv(instance, result, opts["out"])
        summary: dict[str, Any] = {
            "solver": result.solver,
            "status": result.status,
            "children": len(instance.children),
            "facilities": len(instance.facilities),
            "placed": result.stats.placed,
            "placed_by_age": {str(a): result.stats.placed_by_age[a] for a in AGES},
            "unplaced": result.stats.unplaced,
            "seconds": result.stats.seconds,
            "verifier": report.summary(),
            "blocking_coalitions": len(report.blocking),
            "stable": result.stable,
            "notes": result.notes + report.not_covered,
        }
        if opts.get("xlsx"):
            io.write_result_xlsx(instance, result, opts["xlsx"], summary)
        if opts.get("summary"):
            opts["summary"].write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
        by_age = " ".join(f"{a}歳 {result.stats.placed_by_age[a]}" for a in AGES)
        v = report.summary()
        self.stdout.write(
            f"解法: {result.solver} ({result.status})  申込 {len(instance.children)} 人 / {len(instance.facilities)} 施設"
        )
        self.stdout.write(f"内定: {result.stats.placed} 人 ({by_age})  保留: {result.stats.unplaced} 人")
        self.stdout.write(
            f"検証: 定員超過 {v['capacity']}  希望外 {v['wish']}  転園の後退 {v['transfer']}  "
            f"きょうだい条件 {v['sibling']}  空席の無駄 {v['wasted']}  "
            f"ブロッキング提携 {v['blocking_syy']} (SYY) / {v['blocking_abh']} (ABH)"
        )
        self.stdout.write(f"時間: {result.stats.seconds:.3f} 秒")
        for note in summary["notes"]:
            self.stdout.write(f"注意: {note}")
        self.stdout.write(f"結果: {opts['out']}")
