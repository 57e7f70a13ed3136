from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.audit import audit_verify


class Command(BaseCommand):
    help = "監査ログの運用コマンド。madoguchi audit verify でハッシュ連鎖を検証します。"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="監査ログのハッシュ連鎖を先頭から検証 (改ざん・削除の検出)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                f"監査ログの検証に失敗しました: 連番 {result.broken_at}: {result.problem} "
                f"({result.checked} 件は正常)",
                returncode=1,
            )
        self.stdout.write(f"OK 監査ログ {result.checked} 件のハッシュ連鎖は正常です。")
