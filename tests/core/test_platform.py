"""Settings variants, operator commands and the demo loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.core.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import madoguchi.settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MADOGUCHI_FIELD_KEY", "MADOGUCHI_ENV"}
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env=clean | {"MADOGUCHI_DATA_DIR": str(tmp_path)} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_demo_settings_default_to_sqlite_and_eager_celery(tmp_path: Path) -> None:
    result = _import_settings({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]
    assert (tmp_path / "secret_key").exists() and (tmp_path / "field_key").exists()


def test_production_requires_secrets(tmp_path: Path) -> None:
    result = _import_settings({"MADOGUCHI_ENV": "production"}, tmp_path)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
    ok = _import_settings(
        {
            "MADOGUCHI_ENV": "production",
            "SECRET_KEY": "x" * 50,
            "MADOGUCHI_FIELD_KEY": "Hs2bX1Y0q3d5wWJp5u1m3k7yqg8w3Xj4m9Qy2lS3n0c=",
            "DATABASE_URL": "postgres://u@127.0.0.1/db",
            "REDIS_URL": "redis://127.0.0.1/0",
        },
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["django.db.backends.postgresql", "False"]


def test_unknown_env_is_refused(tmp_path: Path) -> None:
    result = _import_settings({"MADOGUCHI_ENV": "staging"}, tmp_path)
    assert result.returncode != 0 and "MADOGUCHI_ENV" in result.stderr


def test_console_script_lists_commands() -> None:
    exe = Path(sys.executable).with_name("madoguchi")
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0
    for command in ["jp", "load_demo", "applications", "audit", "serve", "migrate"]:
        assert command in result.stdout


@pytest.mark.django_db
def test_demo_load_is_idempotent_and_stats(settings: object) -> None:
    from madoguchi.demo.services import demo_load

    first = demo_load(applications=40, seed=3)
    audit_rows = AuditEvent.objects.count()
    second = demo_load(applications=40, seed=3)
    assert first.applications == second.applications == 40
    assert AuditEvent.objects.count() == audit_rows
    out = StringIO()
    call_command("applications", "stats", "--json", stdout=out)
    stats = json.loads(out.getvalue())
    assert stats["total"] == 40
    assert sum(stats["by_status"].values()) == 40 and sum(stats["by_channel"].values()) == 40
    assert set(stats["by_channel"]) <= {"online", "pittari", "counter", "paper"}
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert out.getvalue().startswith("OK")
    # the maintained per-department status counters agree with the applications themselves
    from django.db.models import Count

    from madoguchi.applications.models import Application, StatusCount

    keys = ("department_id", "procedure_id", "status_id")
    actual = {
        tuple(r[k] for k in keys): r["n"]
        for r in Application.objects.values(*keys).annotate(n=Count("id")).order_by()
    }
    kept = {(c.department_id, c.procedure_id, c.status_id): c.n for c in StatusCount.objects.all() if c.n}
    assert kept == actual
    assert not Application.objects.filter(is_open=True, status__is_terminal=True).exists()
    call_command("applications", "recount", stdout=StringIO())
    assert {
        (c.department_id, c.procedure_id, c.status_id): c.n for c in StatusCount.objects.all() if c.n
    } == actual


@pytest.mark.django_db
def test_audit_verify_fails_on_deleted_row(procedure: object, valid_data: dict) -> None:
    from madoguchi.applications import services
    from madoguchi.core.scope import Actor

    services.application_submit(
        procedure=procedure,
        data=valid_data,
        channel="online",  # type: ignore[arg-type]
        actor=Actor.system("online"),
    )
    AuditEvent.objects.order_by("-seq").first().delete()  # type: ignore[union-attr]
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify")
    assert "末尾の行が削除されています" in str(exc.value)


@pytest.mark.django_db
def test_applications_stats_unknown_municipality() -> None:
    with pytest.raises(CommandError) as exc:
        call_command("applications", "stats", "--municipality", "131016")
    assert "登録されていません" in str(exc.value)


@pytest.mark.django_db
def test_procedure_fixtures_load_and_reload_without_new_versions(municipality: object) -> None:
    from madoguchi.catalog.models import FormVersion, Procedure
    from madoguchi.catalog.services import procedure_load_fixtures

    procedures = procedure_load_fixtures(municipality=municipality)  # type: ignore[arg-type]
    assert len(procedures) == 34
    versions = FormVersion.objects.count()
    procedure_load_fixtures(municipality=municipality)  # type: ignore[arg-type]
    assert FormVersion.objects.count() == versions
    names = set(Procedure.objects.values_list("name", flat=True))
    assert any("児童手当" in n for n in names) and any("転出" in n for n in names)
