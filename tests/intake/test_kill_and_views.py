"""A SIGKILLed importer loses nothing and duplicates nothing; staff see and re-import quarantined packages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.test import Client

from madoguchi.applications.models import Application, StatusCount
from madoguchi.core.models import Role
from madoguchi.intake.models import PackageImport, QuarantinedPackage
from madoguchi.intake.pki import LocalCA
from madoguchi.intake.services import package_import
from tests.intake.conftest import PackageMaker

MADOGUCHI = str(Path(sys.executable).with_name("madoguchi"))


def _env(test_ca: LocalCA, data_dir: Path) -> dict[str, str]:
    url = urlsplit(os.environ["DATABASE_URL"])
    env = dict(os.environ)
    env["DATABASE_URL"] = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    env["MADOGUCHI_DATA_DIR"] = str(data_dir)
    env["MADOGUCHI_PITTARI_TRUST_DIR"] = str(test_ca.path)
    env.pop("REDIS_URL", None)
    return env


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a server database shared with a subprocess")
def test_sigkill_mid_run_then_rerun(make_package: PackageMaker, tmp_path: Path, test_ca: LocalCA) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    total = 24
    for i in range(total):
        (folder / f"{i:03d}.zip").write_bytes(make_package())
    env = _env(test_ca, tmp_path / "data")
    proc = subprocess.Popen([MADOGUCHI, "pittari", "import", str(folder)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(5)]
    assert all(line.startswith(b"accepted") for line in lines), lines
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = Application.objects.count()
    assert 5 <= done < total
    assert PackageImport.objects.count() == done  # every application has its import record: no partial one
    rerun = subprocess.run([MADOGUCHI, "pittari", "import", str(folder)], env=env, capture_output=True,
                           timeout=120, check=True)
    summary = rerun.stdout.decode().splitlines()[-1]
    accepted = int(summary.split()[0])
    assert summary == f"{accepted} accepted, {total - accepted} duplicate, 0 rejected"
    assert accepted == total - done
    assert Application.objects.count() == PackageImport.objects.count() == total
    ids = list(Application.objects.values_list("idempotency_key", flat=True))
    assert len(set(ids)) == total
    assert sum(StatusCount.objects.values_list("n", flat=True)) == total


@pytest.mark.django_db
def test_quarantine_page_and_reimport(make_package: PackageMaker, make_staff: Any, municipality: Any,
                                      other_municipality: Any, test_ca: LocalCA) -> None:
    content = make_package()
    # the trust folder is missing the CA at first (misconfiguration): the package is quarantined
    from django.conf import settings

    real = settings.MADOGUCHI_PITTARI_TRUST_DIR
    settings.MADOGUCHI_PITTARI_TRUST_DIR = str(test_ca.path / "nowhere")
    result = package_import(content=content, filename="q.zip")
    settings.MADOGUCHI_PITTARI_TRUST_DIR = real
    assert result.code == "certificate.untrusted"
    item = QuarantinedPackage.objects.get()
    assert item.municipality == municipality

    make_staff("kosodate", (Role.HANDLER, "kosodate"))
    make_staff("stranger", (Role.ADMIN, None), m=other_municipality)
    make_staff("approver1", (Role.APPROVER, "kosodate"))
    client = Client()
    client.login(username="stranger", password="demo-pass-2026")
    assert "q.zip" not in client.get("/staff/intake/quarantine/").content.decode()
    assert client.post(f"/staff/intake/quarantine/{item.pk}/reimport/").status_code == 404
    client.login(username="approver1", password="demo-pass-2026")
    assert client.get("/staff/intake/quarantine/").status_code == 403
    client.login(username="kosodate", password="demo-pass-2026")
    page = client.get("/staff/intake/quarantine/").content.decode()
    assert "q.zip" in page and "certificate.untrusted" in page
    response = client.post(f"/staff/intake/quarantine/{item.pk}/reimport/")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.resolved_at is not None and item.resolved_application is not None
    assert "q.zip" not in client.get("/staff/intake/quarantine/").content.decode()
    assert Client().get("/staff/intake/quarantine/").status_code == 302  # login required
