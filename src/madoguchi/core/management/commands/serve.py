"""``madoguchi serve``: the platform behind gunicorn on loopback (static files via WhiteNoise), with the
production setup of ``madoguchi.gunicorn_conf`` (sync workers, 2 × cores + 1)."""

import os
import shutil
import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Madoguchi を gunicorn で起動します (既定 127.0.0.1:8000、設定は madoguchi.gunicorn_conf)。"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=None, help="既定: WEB_CONCURRENCY、なければ 2 × コア数 + 1"
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
        if not gunicorn:
            raise CommandError("gunicorn が見つかりません。make install を実行してください。")
        argv = [
            gunicorn,
            "--config",
            "python:madoguchi.gunicorn_conf",
            "--bind",
            f"{opts['host']}:{opts['port']}",
            *(["--workers", str(opts["workers"])] if opts["workers"] else []),
            "madoguchi.wsgi:application",
        ]
        os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with gunicorn, fixed argv
