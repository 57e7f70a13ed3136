"""The demo municipality: みどり市 (fictional), its staff, residents and ~2,000 applications.

Loaded through the same services as real data, so every application has a valid form, a 受付番号,
history rows and audit rows. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from madoguchi.applications import services as app_services
from madoguchi.applications.models import Application, ApplicationEvent, Channel
from madoguchi.applications.storage import blob_store
from madoguchi.catalog.models import Procedure
from madoguchi.catalog.schema import parse_definition, strip_secrets, validate_submission
from madoguchi.catalog.services import department_ensure_defaults, procedure_load_fixtures
from madoguchi.core.errors import MadoguchiError
from madoguchi.core.jp.business_days import is_office_day
from madoguchi.core.jp.codes import municipality_check_digit
from madoguchi.core.models import ClosedDay, Municipality, Resident, Role, StaffAssignment
from madoguchi.core.scope import Actor, staff_actor
from madoguchi.demo.generator import sample_submission
from madoguchi.demo.people import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, TOWNS
from madoguchi.identity.demo import demo_cards_ensure

DEMO_CODE_BASE = "99999"  # not a real 団体コード prefix: the demo can never collide with a real one
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - documented demo password
# username, full name (姓, 名), role, department code (None = whole municipality)
DEMO_STAFF: list[tuple[str, tuple[str, str], list[tuple[str, str | None]]]] = [
    ("admin", ("管理", "一郎"), [(Role.ADMIN, None)]),
    ("madoguchi", ("窓口", "花子"), [(Role.CLERK, None)]),
    ("kosodate", ("子育", "結衣"), [(Role.HANDLER, "kosodate")]),
    ("kaigo", ("介護", "誠"), [(Role.HANDLER, "kaigo")]),
    (
        "kessai",
        ("決裁", "浩"),
        [(Role.APPROVER, d) for d in ("kosodate", "hoiku", "kaigo", "shimin", "kikikanri", "hoken", "gakko")],
    ),
    ("hoiku", ("保育", "陽子"), [(Role.HANDLER, "hoiku")]),
    ("dx", ("推進", "颯太"), [(Role.DX, None)]),
    ("shimin", ("市民", "健一"), [(Role.HANDLER, "shimin"), (Role.HANDLER, "kikikanri")]),
    ("hoken", ("保険", "明美"), [(Role.HANDLER, "hoken")]),
    ("gakko", ("学校", "直樹"), [(Role.HANDLER, "gakko")]),
]

# What the login page shows in demo mode: (username, what the account is for)
DEMO_ACCOUNTS: list[tuple[str, str]] = [
    ("admin", "管理者"),
    ("madoguchi", "窓口"),
    ("kosodate", "子育て支援課 担当"),
    ("kaigo", "介護保険課 担当"),
    ("hoiku", "保育課 担当"),
    ("shimin", "市民課・危機管理課 担当"),
    ("hoken", "保険年金課 担当"),
    ("gakko", "学校教育課 担当"),
    ("kessai", "決裁者"),
    ("dx", "DX推進課"),
]
assert {u for u, _ in DEMO_ACCOUNTS} == {u for u, _, _ in DEMO_STAFF}

# Status targets: (weight, path of actions). Paths are applied in order through the services.
STATUS_PATHS: list[tuple[int, list[str]]] = [
    (22, []),  # 受付
    (20, ["reviewing"]),
    (8, ["correction_requested"]),
    (4, ["correction_requested", "resubmitted"]),
    (10, ["reviewing", "pending_approval"]),
    (8, ["reviewing", "pending_approval", "approved"]),
    (20, ["reviewing", "pending_approval", "approved", "completed"]),
    (4, ["reviewing", "rejected"]),
    (4, ["withdrawn"]),
]
CHANNEL_WEIGHTS = [(Channel.ONLINE, 45), (Channel.PITTARI, 20), (Channel.COUNTER, 25), (Channel.PAPER, 10)]

PDF_SAMPLE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _sample_png(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG (a light blue card), made here so the demo needs no binary files."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + bytes((232, 241, 254)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class DemoSummary:
    municipality: Municipality
    created: bool
    applications: int


def demo_municipality_code() -> str:
    return DEMO_CODE_BASE + str(municipality_check_digit(DEMO_CODE_BASE))


def _staff(municipality: Municipality) -> dict[str, Any]:
    departments = department_ensure_defaults(municipality=municipality)
    user_model = get_user_model()
    users = {}
    for username, (last, first), roles in DEMO_STAFF:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "last_name": last,
                "first_name": first,
                "is_staff": username == "admin",
                "is_superuser": username == "admin",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        for role, dept in roles:
            StaffAssignment.objects.get_or_create(
                user=user,
                municipality=municipality,
                role=role,
                department=departments[dept] if dept else None,
            )
        users[username] = user
    return users


def _residents(municipality: Municipality, rng: random.Random, households: int = 260) -> list[Resident]:
    if Resident.objects.filter(municipality=municipality).exists():
        return list(Resident.objects.filter(municipality=municipality))
    residents = []
    code = 10_000_000_000
    today = timezone.localdate()
    for h in range(households):
        family, family_kana = rng.choice(FAMILY_NAMES)
        town, postal = rng.choice(TOWNS)
        address = f"架空県みどり市{town}{rng.randint(1, 5)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
        household = f"H{h + 1:06d}"
        head_age = rng.randint(25, 85)
        members = [("世帯主", head_age, rng.choice("12"))]
        if rng.random() < 0.75:
            members.append(
                (
                    "妻" if members[0][2] == "1" else "夫",
                    head_age + rng.randint(-4, 4),
                    "2" if members[0][2] == "1" else "1",
                )
            )
        if head_age < 50:
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                members.append(("子", rng.randint(0, max(0, head_age - 22)), rng.choice("12")))
        for relation, age, sex in members:
            given, given_kana = rng.choice(MALE_NAMES if sex == "1" else FEMALE_NAMES)
            code += rng.randint(1, 97)
            birth = today - timedelta(days=age * 365 + rng.randint(0, 364))
            residents.append(
                Resident(
                    municipality=municipality,
                    resident_code=f"{code:011d}",
                    name=f"{family} {given}",
                    name_kana=f"{family_kana} {given_kana}",
                    birth_date=birth,
                    sex=sex,
                    postal_code=postal,
                    address=address,
                    household_code=household,
                    relationship=relation,
                )
            )
    for r in residents:  # bulk_create skips save(), which keeps the key
        r.refresh_search_key()
    Resident.objects.bulk_create(residents)
    return list(Resident.objects.filter(municipality=municipality))


def _office_datetime(rng: random.Random, days_back: int) -> datetime:
    day = timezone.localdate() - timedelta(days=days_back)
    while not is_office_day(day):
        day -= timedelta(days=1)
    moment = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)))
    return timezone.make_aware(moment)


def _apply_path(
    application: Application, path: list[str], actors: dict[str, Actor], rng: random.Random
) -> None:
    handler = actors.get(application.department.code) or actors["shimin"]
    approver = actors["kessai"]
    for step in path:
        application.refresh_from_db()
        if step == "correction_requested":
            definition = parse_definition(application.form_version.definition)
            fields = [f.id for s in definition.sections for f in s.fields][:2]
            app_services.application_request_correction(
                application=application,
                actor=handler,
                fields=fields,
                reason="記入内容に不足があります。該当欄を確認のうえ再提出してください。",
            )
        elif step == "resubmitted":
            app_services.application_resubmit(
                application=application,
                data=_resubmittable(application),
                actor=Actor.resident(application.applicant_name),
            )
        elif step == "withdrawn":
            app_services.application_withdraw(
                application=application,
                actor=Actor.resident("demo"),
                reason="申請者から取下げの申出がありました。",
            )
        elif step == "approved":
            app_services.application_approve(application=application, actor=approver)
        elif step == "pending_approval":
            if application.status.workflow.code != "shinsei":
                app_services.application_transition(application=application, to="completed", actor=handler)
                return
            app_services.application_transition(application=application, to=step, actor=handler)
        elif step in {"completed"} and application.status.code != "approved":
            return
        elif step == "rejected":
            app_services.application_transition(
                application=application,
                to="rejected",
                actor=approver,
                reason="要件を満たしていないため (所得制限超過)。",
            )
        else:
            app_services.application_transition(application=application, to=step, actor=handler)


def _resubmittable(application: Application) -> dict[str, Any]:
    """What the applicant sends back: the stored data less the 個人番号 (kept by the service)."""
    return strip_secrets(parse_definition(application.form_version.definition), application.data)


def _spread_event_times(municipality: Municipality, rng: random.Random) -> None:
    """Give demo histories believable times (hours to days after submission) instead of load time."""
    now = timezone.now()
    events = list(
        ApplicationEvent.objects.filter(application__municipality=municipality)
        .select_related("application")
        .order_by("application_id", "id")
    )
    last_app, moment = None, now
    for e in events:
        if e.application_id != last_app:
            last_app, moment = e.application_id, e.application.submitted_at
        else:
            moment = min(moment + timedelta(hours=rng.randint(2, 60)), now)
        e.at = moment
    ApplicationEvent.objects.bulk_update(events, ["at"], batch_size=1000)
    corrections = {e.application_id: e.at for e in events if e.kind == "correction"}
    apps = list(Application.objects.filter(pk__in=corrections))
    for a in apps:
        a.correction_requested_at = corrections[a.pk]
    Application.objects.bulk_update(apps, ["correction_requested_at"], batch_size=1000)


# One 基幹 hand-off target per method, each for one department's procedures (issue 3, docs/handoff.md).
DEMO_HANDOFF_TARGETS: list[tuple[str, str, str, list[str], dict[str, Any]]] = [
    ("kosodate-tenki", "児童手当システム (転記)", "transcribe", ["kosodate"], {}),
    ("kaigo-rpa", "介護保険システム (RPA)", "rpa", ["kaigo"], {"format": "csv", "encoding": "cp932"}),
    ("jukiso-api", "住記・防災システム (API取込)", "pull", ["shimin", "kikikanri"], {}),
    ("hoiku-ikkatsu", "保育システム (一括取込)", "bulk", ["hoiku"], {"format": "fixed"}),
]


def _handoff_targets(municipality: Municipality) -> None:
    from madoguchi.handoff.models import HandoffTarget
    from madoguchi.handoff.services import handoff_scan

    for code, name, method, departments, layout in DEMO_HANDOFF_TARGETS:
        target, created = HandoffTarget.objects.get_or_create(
            municipality=municipality, code=code, defaults={"name": name, "method": method, "layout": layout}
        )
        if created:
            target.procedures.set(
                Procedure.objects.filter(municipality=municipality, department__code__in=departments)
            )
    handoff_scan(municipality=municipality)


def demo_load(*, applications: int = 2000, seed: int = 2026) -> DemoSummary:
    """Load (or complete) the demo municipality. Idempotent."""
    rng = random.Random(seed)
    code = demo_municipality_code()
    with transaction.atomic():
        municipality, created = Municipality.objects.get_or_create(
            code=code, defaults={"name": "みどり市", "prefecture": "架空県", "name_kana": "ミドリシ"}
        )
        users = _staff(municipality)
        ClosedDay.objects.get_or_create(
            municipality=municipality,
            date=date(timezone.localdate().year, 6, 1),
            defaults={"reason": "市制記念日"},
        )
        procedure_load_fixtures(municipality=municipality)
        residents = _residents(municipality, rng)
    demo_cards_ensure(municipality=municipality)  # マイナンバーカード for a few residents (portal demo login)
    from madoguchi.counter.demo import counter_demo_ensure
    from madoguchi.reception.demo import reception_demo_ensure

    counter_demo_ensure(municipality=municipality)  # rules table + a family's 転入予約 for the counter
    reception_demo_ensure(municipality)  # services, counters, today's tickets and reservations
    existing = Application.objects.filter(municipality=municipality).count()
    if existing >= applications:
        _handoff_targets(municipality)
        _dx(municipality)
        return DemoSummary(municipality, created, existing)

    actors = {name: staff_actor(users[name], municipality=municipality) for name in users}
    procedures = list(
        Procedure.objects.filter(municipality=municipality).select_related("department", "workflow")
    )
    weights = [5 if p.category in {"子育て", "介護"} else 3 for p in procedures]
    with transaction.atomic():
        files = [
            blob_store(content=PDF_SAMPLE, filename="健康保険証の写し.pdf").as_reference(),
            blob_store(content=_sample_png(), filename="写真.png").as_reference(),
        ]
        adults = [r for r in residents if timezone.localdate().year - r.birth_date.year >= 18]
        path_weights = [w for w, _ in STATUS_PATHS]
        for i in range(existing, applications):
            procedure = rng.choices(procedures, weights)[0]
            resident = rng.choice(adults)
            channel = rng.choices([c for c, _ in CHANNEL_WEIGHTS], [w for _, w in CHANNEL_WEIGHTS])[0]
            days_back = int(rng.triangular(0, 150, 5))
            submitted = _office_datetime(rng, days_back)
            definition = parse_definition(procedure.current_form.definition)
            data = sample_submission(
                definition, rng=rng, today=submitted.date(), resident=resident, files=files
            )
            result = validate_submission(definition, data, today=timezone.localtime(submitted).date())
            if not result.ok:
                raise MadoguchiError(f"demo data invalid for {procedure.code}: {result.errors[:3]}")
            actor = Actor.system(channel) if channel != Channel.COUNTER else actors["madoguchi"]
            application = app_services.application_submit(
                procedure=procedure,
                data=data,
                channel=channel,
                actor=actor,
                applicant=resident,
                submitted_at=submitted,
                idempotency_key=f"demo-{i}",
                needs_review="シリアル番号に対応する住民が見つかりません"
                if channel == "pittari" and i % 37 == 0
                else "",
            )
            path = rng.choices([p for _, p in STATUS_PATHS], path_weights)[0]
            if days_back > procedure.standard_days * 1.5 + 10 and rng.random() < 0.85:
                path = STATUS_PATHS[6][1]  # older applications are mostly finished, as in a real office
            if path and submitted.date() < timezone.localdate() - timedelta(days=1):
                _apply_path(application, path, actors, rng)
            if rng.random() < 0.5 and application.department.code in actors:
                application.refresh_from_db()
                if not application.status.is_terminal:
                    app_services.application_assign(
                        application=application,
                        actor=actors["admin"],
                        assignee=users[application.department.code],
                    )
        _spread_event_times(municipality, rng)
    _handoff_targets(municipality)
    _dx(municipality)
    return DemoSummary(municipality, created, Application.objects.filter(municipality=municipality).count())


def _dx(municipality: Municipality) -> None:
    """DX推進: demo KPIs and the aggregates refreshed from the applications just made."""
    from madoguchi.dx.demo import dx_demo_ensure
    from madoguchi.dxplan.demo import dxplan_demo_ensure

    dxplan_demo_ensure(municipality=municipality)  # 工程表, 標準化移行 tracker, カード交付率 tables
    dx_demo_ensure(municipality=municipality)
