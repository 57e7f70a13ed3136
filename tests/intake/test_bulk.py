"""The batch importer (intake.bulk): the outcomes, rows and audit trail of the one-by-one importer,
N packages per transaction, and a fallback to one by one when a batch cannot be written."""

from __future__ import annotations

from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.db.models import Count

from madoguchi.applications.models import Application, ApplicationEvent, Attachment, StatusCount
from madoguchi.core.audit import audit_verify
from madoguchi.core.models import AuditEvent, Resident
from madoguchi.intake import bulk
from madoguchi.intake.bulk import packages_import, packages_import_paths
from madoguchi.intake.models import PackageImport, QuarantinedPackage
from madoguchi.intake.services import ImportCache, package_import
from tests.intake.conftest import PackageMaker

pytestmark = pytest.mark.django_db


def _shape(app: Application) -> dict[str, Any]:
    """What a package writes, without ids, numbers and times."""
    data = {k: v for k, v in app.data.items() if k != "mynumber"}
    return {
        "data": data,
        "mynumber_masked": app.data["mynumber"]["masked"],
        "fields": (
            app.channel,
            app.applicant_id,
            app.applicant_name,
            app.applicant_kana,
            app.name_key,
            app.kana_key,
            app.status_id,
            app.deadline,
            app.needs_review,
            app.review_reason,
            app.form_version_id,
            app.department_id,
            app.is_open,
            app.version,
            app.submitted_at,
        ),
        "events": [(e.kind, e.actor_label, e.to_status_id, e.detail, e.at) for e in app.events.all()],
        "attachments": sorted((a.blob_id, a.field_path, a.filename) for a in app.attachments.all()),
        "import": PackageImport.objects.filter(application=app)
        .values("format_key", "signer_serial", "signer_issuer", "signed_at", "sent_at")
        .get(),
        "audit": [
            (e.actor, e.action, e.detail)
            for e in AuditEvent.objects.filter(object_id=app.reception_number).order_by("seq")
        ],
    }


def test_batch_outcomes_in_order(make_package: PackageMaker, resident: Resident) -> None:
    earlier = make_package()
    assert package_import(content=earlier, filename="earlier.zip").outcome == "accepted"
    fresh = [make_package() for _ in range(5)]
    packages = [
        ("a.zip", fresh[0]),
        ("dup-earlier.zip", earlier),  # imported before: duplicate of that application
        ("b.zip", fresh[1]),
        ("bad.zip", b"not a zip"),
        ("a-again.zip", fresh[0]),  # the same package twice in one batch: the second is a duplicate
        ("c.zip", fresh[2]),
        ("d.zip", fresh[3]),
        ("e.zip", fresh[4]),
    ]
    results = packages_import(packages=packages, cache=ImportCache())
    assert [r.filename for r in results] == [n for n, _ in packages]
    assert [r.outcome for r in results] == [
        "accepted",
        "duplicate",
        "accepted",
        "rejected",
        "duplicate",
        "accepted",
        "accepted",
        "accepted",
    ]
    assert results[3].code == "package.unreadable"
    assert results[4].reception_number == results[0].reception_number
    assert results[4].application_id == results[0].application_id
    first = Application.objects.get(idempotency_key__endswith=":T-00001")
    assert results[1].reception_number == first.reception_number
    # 受付番号 follow the input order, one block per batch
    numbers = [r.reception_number for r in results if r.outcome == "accepted"]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    assert Application.objects.count() == PackageImport.objects.count() == 6
    assert ApplicationEvent.objects.count() == 6
    assert QuarantinedPackage.objects.get().code == "package.unreadable"
    # the audit chain holds together, two rows per accepted package, in the one-by-one order
    assert audit_verify().ok
    actions = list(
        AuditEvent.objects.filter(action__in=["application.submit", "intake.package_accepted"])
        .order_by("seq")
        .values_list("action", "object_id")
    )
    assert actions[2:] == [
        (action, number) for number in numbers for action in ("application.submit", "intake.package_accepted")
    ]
    # inbox counters kept
    keys = ("department_id", "procedure_id", "status_id")
    actual = {
        tuple(r[k] for k in keys): r["n"]
        for r in Application.objects.values(*keys).annotate(n=Count("id")).order_by()
    }
    assert {
        (c.department_id, c.procedure_id, c.status_id): c.n for c in StatusCount.objects.all() if c.n
    } == actual
    # importing the same again: all duplicates, nothing new
    counts = (Application.objects.count(), ApplicationEvent.objects.count(), AuditEvent.objects.count())
    again = packages_import(packages=[(n, c) for n, c in packages if n != "bad.zip"])
    assert {r.outcome for r in again} == {"duplicate"}
    assert (
        Application.objects.count(),
        ApplicationEvent.objects.count(),
        AuditEvent.objects.count(),
    ) == counts


def test_rows_match_the_one_by_one_importer(make_package: PackageMaker, resident: Resident) -> None:
    a, b = make_package(), make_package()
    one = package_import(content=a, filename="a.zip")
    (two,) = packages_import(packages=[("b.zip", b)])
    assert one.outcome == two.outcome == "accepted"
    shape_a = _shape(Application.objects.get(pk=one.application_id))
    shape_b = _shape(Application.objects.get(pk=two.application_id))
    for shape in (shape_a, shape_b):
        for row in shape["audit"]:
            row[2].pop("external_id", None)
            row[2].pop("package_sha256", None)
    assert shape_a == shape_b
    assert Attachment.objects.filter(application_id=two.application_id).exists()


def test_failed_batch_falls_back_to_one_by_one(
    make_package: PackageMaker, resident: Resident, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Counter[str]()

    def broken(**kwargs: Any) -> Any:
        calls["batch"] += 1
        raise IntegrityError("simulated concurrent duplicate")

    monkeypatch.setattr(bulk, "applications_submit_bulk", broken)
    contents = [make_package() for _ in range(3)]
    results = packages_import(
        packages=[(f"{i}.zip", c) for i, c in enumerate(contents)] + [("x.zip", contents[0])]
    )
    assert calls["batch"] == 1
    assert [r.outcome for r in results] == ["accepted", "accepted", "accepted", "duplicate"]
    assert Application.objects.count() == PackageImport.objects.count() == 3
    assert audit_verify().ok


def test_paths_and_command_use_batches(
    make_package: PackageMaker, resident: Resident, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(11):
        (folder / f"{i:02d}.zip").write_bytes(make_package())
    (folder / "zz.zip").write_bytes(b"junk")
    sizes: list[int] = []
    real = bulk._batch

    def spy(items: list[Any], **kw: Any) -> Any:
        sizes.append(len(items))
        return real(items, **kw)

    bulk._batch = spy  # type: ignore[assignment]
    try:
        results = list(packages_import_paths(paths=sorted(folder.iterdir()), batch_size=4))
    finally:
        bulk._batch = real  # type: ignore[assignment]
    assert sizes == [1, 2, 4, 4, 1]
    assert [r.outcome for r in results] == ["accepted"] * 11 + ["rejected"]
    sizes.clear()
    bulk._batch = spy  # type: ignore[assignment]
    bulk.BATCH_BYTES, limit = 1, bulk.BATCH_BYTES  # large packages: a batch ends at the byte limit
    try:
        again = list(packages_import_paths(paths=sorted(folder.iterdir()), batch_size=4))
    finally:
        bulk._batch, bulk.BATCH_BYTES = real, limit  # type: ignore[assignment]
    assert sizes == [1] * 12
    assert [r.outcome for r in again] == ["duplicate"] * 11 + ["rejected"]
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("pittari", "import", str(folder), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1] == "0 accepted, 11 duplicate, 1 rejected"


def test_quarantined_package_resolved_by_batch(
    make_package: PackageMaker, resident: Resident, settings: Any, test_ca: Any
) -> None:
    content = make_package()
    real = settings.MADOGUCHI_PITTARI_TRUST_DIR
    settings.MADOGUCHI_PITTARI_TRUST_DIR = str(test_ca.path / "nowhere")
    assert packages_import(packages=[("q.zip", content)])[0].code == "certificate.untrusted"
    settings.MADOGUCHI_PITTARI_TRUST_DIR = real
    (result,) = packages_import(packages=[("q.zip", content)])
    assert result.outcome == "accepted"
    item = QuarantinedPackage.objects.get()
    assert item.resolved_at is not None and item.resolved_application_id == result.application_id


@pytest.mark.django_db(transaction=True)
def test_two_batch_importers_on_the_same_packages(make_package: PackageMaker, resident: Resident) -> None:
    """Two runs over the same packages at once (opposite orders): each package accepted exactly once."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs a server database shared between threads")
    packages = [(f"{i:02d}.zip", make_package()) for i in range(16)]
    results: dict[str, list[Any]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(name: str, order: list[tuple[str, bytes]]) -> None:
        try:
            barrier.wait()
            results[name] = packages_import(packages=order)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("a", packages)),
        threading.Thread(target=run, args=("b", packages[::-1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    outcomes = Counter(r.outcome for rs in results.values() for r in rs)
    assert outcomes == {"accepted": 16, "duplicate": 16}
    numbers = {r.filename: r.reception_number for rs in results.values() for r in rs}
    assert len(numbers) == 16
    for name in ("a", "b"):
        assert {r.filename: r.reception_number for r in results[name]} == numbers
    assert Application.objects.count() == PackageImport.objects.count() == 16
    assert sum(StatusCount.objects.values_list("n", flat=True)) == 16
    assert audit_verify().ok
