from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from madoguchi.intake.pki import LocalCA, trust_dir


class Command(BaseCommand):
    help = "テスト用の認証局 (ルート・中間・CRL) を作る。例: madoguchi pki make-test-ca --out DIR"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        make = sub.add_parser("make-test-ca", help="テスト用 CA を作る (本番では使わないこと)")
        make.add_argument("--out", default=None, help="出力先 (省略時は信頼フォルダ MADOGUCHI_PITTARI_TRUST_DIR)")
        make.add_argument("--days", type=int, default=3650)
        check = sub.add_parser("check", help="信頼フォルダ (ルート証明書・CRL) の設定を確認する")
        check.add_argument("--dir", default=None)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["action"] == "check":
            from madoguchi.intake.pki import trust_store

            problems = trust_store(Path(opts["dir"]) if opts["dir"] else None).check_config()
            for p in problems:
                self.stdout.write(f"NG {p}")
            if problems:
                raise SystemExit(1)
            self.stdout.write("OK 信頼フォルダに問題はありません。")
            return
        out = Path(opts["out"]) if opts["out"] else trust_dir()
        if (out / "root.pem").exists():
            self.stdout.write(f"OK テスト用 CA はすでにあります: {out}")
            return
        LocalCA.create(out, days=opts["days"])
        self.stdout.write(f"OK テスト用 CA を作りました: {out} (root.pem, intermediate.pem, *-crl.pem, private/)")
        self.stdout.write(f"   取込時は MADOGUCHI_PITTARI_TRUST_DIR={out} を設定してください。")
