"""Operator commands of the 基幹連携 outbox. Thin: they call services and print the result."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from madoguchi.catalog.models import Procedure
from madoguchi.core.errors import MadoguchiError
from madoguchi.core.scope import Actor
from madoguchi.handoff import services
from madoguchi.handoff.methods import methods
from madoguchi.handoff.models import HandoffTarget


class Command(BaseCommand):
    help = "基幹システム連携 (export / sweep / scan / check / client)。例: madoguchi handoff export --method bulk --procedure ID --out FILE"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "export", help="方式2 (rpa) / 方式4 (bulk) の連携ファイルを作る (未出力の申請のみ)"
        )
        export.add_argument("--method", choices=["rpa", "bulk"], required=True)
        export.add_argument("--procedure", required=True, help="手続ID")
        export.add_argument("--out", help="出力ファイル (省略時は DATA_DIR/handoff/)")
        export.add_argument("--target", help="連携先コード (その方式の連携先が1つなら省略可)")
        export.add_argument("--municipality", help="団体コード (複数の自治体がある場合)")
        export.add_argument("--include-exported", action="store_true", help="出力済の申請も含める")
        export.add_argument("--queue", action="store_true", help="Celery (キュー handoff) で作成する")
        sweep = sub.add_parser("sweep", help="滞留した連携の再送待ち・失敗への変更、未登録の連携の登録")
        sweep.add_argument("--stuck-minutes", type=int, default=30)
        sweep.add_argument("--no-scan", action="store_true")
        sub.add_parser("scan", help="承認・完了の申請で連携ジョブのないものに登録する")
        sub.add_parser("check", help="連携先の設定を確認する (check_config)")
        client = sub.add_parser("client", help="方式3 のクライアント登録 (client_id とシークレットを表示)")
        client.add_argument("--target", required=True)
        client.add_argument("--municipality")

    def _target(self, opts, method: str | None, procedure: Procedure | None = None) -> HandoffTarget:  # type: ignore[no-untyped-def]
        qs = HandoffTarget.objects.filter(is_active=True).select_related("municipality")
        if opts.get("municipality"):
            qs = qs.filter(municipality__code=opts["municipality"])
        if procedure is not None:
            qs = qs.filter(municipality_id=procedure.municipality_id)
        if method:
            qs = qs.filter(method=method)
        if opts.get("target"):
            qs = qs.filter(code=opts["target"])
        found = list(qs)
        if procedure is not None and not opts.get("target"):
            found = [
                t for t in found if not t.procedures.exists() or t.procedures.filter(pk=procedure.pk).exists()
            ]
        if len(found) != 1:
            raise CommandError(
                "連携先が見つかりません。"
                if not found
                else "連携先が複数あります。--target で指定してください。",
                returncode=1,
            )
        return found[0]

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            self._handle(opts)
        except MadoguchiError as exc:
            raise CommandError(str(exc), returncode=1) from exc

    def _handle(self, opts) -> None:  # type: ignore[no-untyped-def]
        action = opts["action"]
        actor = Actor.system("cli")
        if action == "export":
            procedures = Procedure.objects.filter(code=opts["procedure"])
            if opts.get("municipality"):
                procedures = procedures.filter(municipality__code=opts["municipality"])
            if procedures.count() != 1:
                raise CommandError(
                    f"手続 {opts['procedure']} が見つからないか、複数あります (--municipality)。",
                    returncode=1,
                )
            procedure = procedures.get()
            target = self._target(opts, opts["method"], procedure)
            batch = services.handoff_batch_request(
                target=target,
                procedure=procedure,
                actor=actor,
                include_exported=opts["include_exported"],
                dispatch=opts["queue"],
            )
            if opts["queue"]:
                self.stdout.write(f"OK 連携ファイル #{batch.pk} の作成を依頼しました (キュー handoff)。")
                return
            batch = services.handoff_batch_build(batch_id=batch.pk, out=opts.get("out"))
            self.stdout.write(
                f"OK 連携ファイル #{batch.pk}: {batch.rows} 件 → {batch.path} (SHA-256 {batch.checksum or '-'})"
            )
        elif action == "sweep":
            result = services.handoff_sweep(
                stuck_after=timedelta(minutes=opts["stuck_minutes"]), scan=not opts["no_scan"]
            )
            self.stdout.write(json.dumps(result.__dict__, ensure_ascii=False))
        elif action == "scan":
            self.stdout.write(f"OK 連携ジョブを {services.handoff_scan()} 件登録しました。")
        elif action == "check":
            problems = [p for m in methods for p in m.check_config()]
            for target in HandoffTarget.objects.filter(is_active=True):
                problems += methods[target.method].check_target(target)
            for p in problems:
                self.stdout.write(f"NG {p}")
            if problems:
                raise CommandError(f"{len(problems)} 件の問題があります。", returncode=1)
            self.stdout.write("OK 連携先の設定に問題はありません。")
        elif action == "client":
            target = self._target(opts, "pull")
            client, secret = services.handoff_client_create(target=target, actor=actor)
            self.stdout.write(
                f"client_id: {client.client_id}\nclient_secret: {secret}\n(シークレットは再表示できません)"
            )
