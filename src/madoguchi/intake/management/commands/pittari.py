from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.errors import MadoguchiError
from madoguchi.core.models import Municipality
from madoguchi.demo.services import demo_municipality_code
from madoguchi.intake.bulk import BATCH_SIZE, packages_import_paths
from madoguchi.intake.formats import format_get
from madoguchi.intake.pki import LocalCA, trust_dir
from madoguchi.intake.selectors import package_paths
from madoguchi.intake.services import ImportCache, ImportResult, package_import_path


class Command(BaseCommand):
    help = "ぴったり互換パッケージ (pittari-v1)。例: madoguchi pittari import DIR / make-sample --count 10 --out DIR"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="パッケージ (ファイルまたはフォルダ) を取り込む")
        imp.add_argument("paths", nargs="+")
        imp.add_argument("--municipality", default=None, help="取込先の団体コード (宛先が違えば拒否)")
        imp.add_argument("--queue", action="store_true", help="Celery ワーカー (キュー intake) で処理する")
        imp.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                         help=f"1 トランザクションで受け付ける最大件数 (既定 {BATCH_SIZE})")
        imp.add_argument("--one-by-one", action="store_true", help="1 件ずつ取り込む (一括経路を使わない)")
        sample = sub.add_parser("make-sample", help="署名付きのサンプルパッケージを作る")
        sample.add_argument("--count", type=int, default=10)
        sample.add_argument("--out", required=True)
        sample.add_argument("--seed", type=int, default=2026)
        sample.add_argument("--municipality", default=None, help="団体コード (省略時はデモのみどり市)")
        sample.add_argument("--ca", default=None, help="テスト用 CA のフォルダ (省略時は信頼フォルダ)")
        sample.add_argument("--signers", type=int, default=20, help="署名者 (住民) の人数")
        sub.add_parser("check", help="取込形式の設定 (信頼フォルダ・CRL) を確認する")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        action = opts["action"]
        if action == "check":
            problems = format_get().check_config()
            for p in problems:
                self.stdout.write(f"NG {p}")
            if problems:
                sys.exit(1)
            self.stdout.write("OK pittari-v1 の設定に問題はありません。")
        elif action == "make-sample":
            self._sample(opts)
        else:
            self._import(opts)

    def _sample(self, opts: dict) -> None:  # type: ignore[type-arg]
        from madoguchi.intake.samples import samples_make

        code = opts["municipality"] or demo_municipality_code()
        municipality = Municipality.objects.filter(code=code).first()
        if municipality is None:
            raise CommandError(f"団体コード {code} の自治体は登録されていません。", returncode=1)
        ca_dir = Path(opts["ca"]) if opts["ca"] else trust_dir()
        if not (ca_dir / "private" / "intermediate.key").exists():
            raise CommandError(f"テスト用 CA がありません: {ca_dir} (madoguchi pki make-test-ca)", returncode=1)
        try:
            summary = samples_make(
                municipality=municipality, ca=LocalCA(ca_dir), out=Path(opts["out"]), count=opts["count"],
                seed=opts["seed"], signers=opts["signers"],
            )
        except MadoguchiError as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(
            f"OK {len(summary.written)} packages, {summary.signers} signers linked; links: {summary.links_csv}"
        )

    def _import(self, opts: dict) -> None:  # type: ignore[type-arg]
        paths = [str(p) for p in package_paths(opts["paths"], suffixes=format_get().suffixes)]
        code = opts["municipality"]
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        results = self._run(paths, code, queue=opts["queue"], one_by_one=opts["one_by_one"],
                            batch_size=opts["batch_size"])
        if results is None:
            self.stdout.write(f"queued {len(paths)} packages (queue intake)")
            return
        for result in results:
            counts[result.outcome] += 1
            self.stdout.write(result.line())
            self.stdout.flush()
        self.stdout.write(f"{counts['accepted']} accepted, {counts['duplicate']} duplicate, {counts['rejected']} rejected")
        self.stdout.flush()
        if counts["rejected"]:
            sys.exit(1)

    def _run(  # type: ignore[no-untyped-def]
        self, paths: list[str], code: str | None, *, queue: bool, one_by_one: bool = False,
        batch_size: int = BATCH_SIZE,
    ):
        progress = None
        if sys.stdout.isatty() and len(paths) > 1:
            from tqdm import tqdm

            progress = tqdm(total=len(paths), file=sys.stderr, unit="pkg")
        if queue:
            from madoguchi.celery import app
            from madoguchi.intake.tasks import import_package

            pending = [import_package.delay(p, code) for p in paths]
            if not app.conf.task_always_eager:
                return None
            return (ImportResult(**r.get()) for r in pending)

        def run():  # type: ignore[no-untyped-def]
            cache = ImportCache()  # look-ups shared by the packages of this run
            results: Iterator[ImportResult]
            if one_by_one:
                results = (package_import_path(path=p, municipality_code=code, cache=cache) for p in paths)
            else:  # the batch importer (intake.bulk): same checks and outcomes, N packages per transaction
                results = packages_import_paths(paths=paths, municipality_code=code, cache=cache,
                                                batch_size=batch_size)
            for result in results:
                yield result
                if progress is not None:
                    progress.update(1)
            if progress is not None:
                progress.close()

        return run()
