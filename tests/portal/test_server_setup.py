"""The production server setup lives in one module (``madoguchi.gunicorn_conf``); ``madoguchi serve`` and
``bench/portal_load.py`` both run gunicorn with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def _print_config(env: dict[str, str]) -> dict[str, str]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    out = subprocess.run(
        [
            str(gunicorn),
            "--print-config",
            "-c",
            "python:madoguchi.gunicorn_conf",
            "madoguchi.wsgi:application",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    ).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in out.splitlines()) if v}


def test_the_production_config_is_sync_workers_two_per_core_plus_one() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in {"WEB_CONCURRENCY", "MADOGUCHI_THREADS"}}
    config = _print_config(env)
    assert config["worker_class"] == "sync"
    assert config["workers"] == str(2 * (os.cpu_count() or 1) + 1)
    assert config["accesslog"] == "-" and "%(U)s" in config["access_log_format"]  # path only, no query
    threaded = _print_config({**env, "WEB_CONCURRENCY": "2", "MADOGUCHI_THREADS": "4"})
    assert (threaded["workers"], threaded["threads"], threaded["worker_class"]) == ("2", "4", "gthread")


def test_serve_runs_gunicorn_with_that_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    seen: dict[str, Any] = {}
    monkeypatch.setattr(os, "execv", lambda path, argv: seen.update(path=path, argv=argv))
    call_command("serve", "--port", "8123")
    argv = seen["argv"]
    assert argv[argv.index("--config") + 1] == "python:madoguchi.gunicorn_conf"
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert "--workers" not in argv and "--threads" not in argv and argv[-1] == "madoguchi.wsgi:application"
    call_command("serve", "--workers", "3")
    assert seen["argv"][seen["argv"].index("--workers") + 1] == "3"


def test_the_bench_uses_the_same_config() -> None:
    text = (ROOT / "bench" / "portal_load.py").read_text(encoding="utf-8")
    assert "python:madoguchi.gunicorn_conf" in text
