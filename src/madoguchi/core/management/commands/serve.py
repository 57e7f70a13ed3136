"""``madoguchi serve``: the platform behind gunicorn on loopback (static files via WhiteNoise)."""

import os
import shutil
import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Madoguchi を gunicorn で起動します (既定 127.0.0.1:8000)。"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
        if not gunicorn:
            raise CommandError("gunicorn が見つかりません。make install を実行してください。")
        argv = [
            gunicorn,
            "madoguchi.wsgi:application",
            "--bind",
            f"{opts['host']}:{opts['port']}",
            "--workers",
            str(opts["workers"]),
            "--threads",
            "4",
            "--access-logfile",
            "-",
            # path only: query strings (a searched name) and referers never reach the access log
            "--access-logformat",
            '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        ]
        os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with gunicorn, fixed argv
