"""Browser journeys: Playwright (sync API) in Debian chromium against pytest-django's ``live_server``.

* Never ``playwright install``: the browser is the distribution's ``chromium`` (``scripts/system-deps.sh``).
* The site keeps its real Content-Security-Policy (``script-src 'self'``) during the journeys. axe-core is
  served to the page from a same-origin URL that the test context intercepts, so it loads like our own
  scripts do and nothing has to bypass the CSP.
* A failing test leaves a full-page screenshot (and the HTML) in ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API keeps an asyncio loop on the main thread; Django's ORM refuses to run there
# unless told that this is deliberate (the test body loads data and checks the database).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL_PATH = "/__browser-tests__/axe.min.js"  # never served by the app: fulfilled by the test context
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_PASSWORD = "demo-pass-2026"  # documented demo password (madoguchi.demo.services)
# Known CSP refusal, tolerated by hash only: htmx 2.0.11 appends its indicator <style> to <head> on every
# page, and `style-src 'self'` blocks it (nothing uses .htmx-indicator, so nothing looks different).
# Fix: <meta name="htmx-config" content='{"includeIndicatorStyles": false}'> in templates/base.html;
# then drop this entry so any inline style or script is a failure again.
KNOWN_CSP_REFUSALS: list[str] = []  # none: htmx is told not to inject its indicator styles (base.html)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per module (module, not session: the sync API's event loop must not outlive the
    browser tests and leak into the rest of the suite)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian chromium is required for the browser journeys (scripts/system-deps.sh)"
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run `npm ci`"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any, live_server: Any) -> Iterator[Any]:
    ctx = browser.new_context(
        base_url=live_server.url,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": 1280, "height": 900},
    )
    ctx.set_default_timeout(10_000)
    ctx.route(
        f"**{AXE_URL_PATH}",
        lambda route: route.fulfill(path=AXE_JS, content_type="application/javascript; charset=utf-8"),
    )
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    page = context.new_page()
    page.js_problems = []  # uncaught errors and CSP refusals, checked by assert_accessible
    page.on("pageerror", lambda exc: page.js_problems.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            page.js_problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            (ARTIFACTS / f"{stem}.html").write_text(page.content(), encoding="utf-8")
        except Exception as exc:  # the page may be gone (crash, closed context): keep the real failure
            print(f"could not save a screenshot for {request.node.nodeid}: {exc}")


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Rows Django recreates itself after every flush (post_migrate), or that no journey needs.
NOT_SNAPSHOTTED = {"contenttypes.contenttype", "auth.permission", "sessions.session", "admin.logentry"}


@contextmanager
def _stored_timestamps() -> Iterator[None]:
    """Let bulk_create write the snapshot's auto_now / auto_now_add values instead of "now"."""
    from django.apps import apps

    fields = [
        f
        for m in apps.get_models()
        for f in m._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


JOURNEY_PROCEDURE = "kosodate-jidoteate-nintei"  # 子育て支援課, 申請 (決裁あり), with a 個人番号 field


def _submit_journey_application() -> None:
    """One more 受付 application the journeys can rely on whatever today's date is.

    The demo's mix of statuses depends on the day it is loaded (submission dates count back from today),
    so on some days 子育て支援課 has no 受付 申請 with a 個人番号. This one is submitted online today, for a
    procedure with 決裁, through the same generator and service as the demo.
    """
    import random

    from django.utils import timezone

    from madoguchi.applications import services as app_services
    from madoguchi.applications.storage import blob_store
    from madoguchi.catalog.models import Procedure
    from madoguchi.catalog.schema import parse_definition, validate_submission
    from madoguchi.core.models import Resident
    from madoguchi.core.scope import Actor
    from madoguchi.demo.generator import sample_submission
    from madoguchi.demo.services import PDF_SAMPLE, demo_municipality_code

    today = timezone.localdate()
    procedure = Procedure.objects.get(municipality__code=demo_municipality_code(), code=JOURNEY_PROCEDURE)
    definition = parse_definition(procedure.current_form.definition)
    resident = (
        Resident.objects.filter(municipality=procedure.municipality, birth_date__year__lte=today.year - 30)
        .order_by("resident_code")
        .first()
    )
    files = [blob_store(content=PDF_SAMPLE, filename="健康保険証の写し.pdf").as_reference()]
    rng = random.Random(7)
    for _ in range(50):  # optional fields are sometimes left out: keep a sample that has the 個人番号
        data = sample_submission(definition, rng=rng, today=today, resident=resident, files=files)
        has_mynumber = any(
            f.type == "mynumber" and f.id in data for s in definition.sections for f in s.fields
        )
        if has_mynumber and validate_submission(definition, data, today=today).ok:
            break
    else:
        raise AssertionError(f"could not make a valid {JOURNEY_PROCEDURE} submission with a 個人番号")
    app_services.application_submit(
        procedure=procedure,
        data=data,
        channel="online",
        actor=Actor.system("online"),
        applicant=resident,
        idempotency_key="browser-journeys",
    )


@pytest.fixture(scope="module")
def demo_snapshot(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[Any, list[Any]]]:
    """``demo_load(applications=80, seed=7)`` (plus one known 受付 申請) once per module (it takes ~13 s),
    kept in memory.

    ``live_server`` needs a transactional database, which is flushed after every test; each test then
    gets a fresh copy of these rows (``demo``) in well under a second instead of loading the demo again.
    Passwords use a fast hasher for the module, as Django recommends for tests (PBKDF2 costs ~0.4 s a login).
    """
    from django.apps import apps
    from django.core.management import call_command
    from django.test import override_settings

    from madoguchi.demo.services import demo_load

    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        with django_db_blocker.unblock():
            demo_load(applications=80, seed=7)
            _submit_journey_application()
            snapshot = {}
            for model in apps.get_models(include_auto_created=True):
                if model._meta.label_lower in NOT_SNAPSHOTTED or model._meta.proxy or not model._meta.managed:
                    continue
                rows = list(model._base_manager.order_by("pk"))
                if rows:
                    snapshot[model] = rows
            call_command("flush", interactive=False, verbosity=0)  # as a transactional test leaves it
        yield snapshot


@pytest.fixture
def demo(transactional_db: Any, demo_snapshot: dict[Any, list[Any]]) -> None:
    """The demo municipality みどり市: its staff (password ``demo-pass-2026``) and 80 applications in
    mixed statuses, restored from the module's snapshot (same primary keys, sequences moved past them)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    with transaction.atomic(), _stored_timestamps():  # FK checks are deferred to the commit
        for model, rows in demo_snapshot.items():
            model._base_manager.bulk_create([copy.copy(row) for row in rows], batch_size=500)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), list(demo_snapshot)):
                cursor.execute(sql)


def login(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/staff/login/")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(password)
    # wait for the next page's "load": htmx and app.js (deferred) are wired up by then
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="ログイン", exact=True).click()


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} <{v.get('helpUrl', '')}>")
        for node in v["nodes"][:10]:
            summary = " / ".join(line.strip() for line in node.get("failureSummary", "").splitlines())
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node.get('html', '')[:200]}")
            lines.append(f"       {summary}")
        if len(v["nodes"]) > 10:
            lines.append(f"    ... and {len(v['nodes']) - 10} more nodes")
    return "\n".join(lines)


def assert_accessible(page: Any, label: str) -> None:
    """axe-core (WCAG 2.0/2.1 A and AA) finds nothing on the page as it is now, and the page has had no
    script errors or CSP refusals so far."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_URL_PATH)
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    assert results["passes"], f"axe checked nothing on {label} ({page.url})"
    violations = results["violations"]
    if violations:
        raise AssertionError(
            f"axe: {len(violations)} violation(s) on {label} ({page.url}):\n" + format_violations(violations)
        )
    problems = [p for p in page.js_problems if not any(known in p for known in KNOWN_CSP_REFUSALS)]
    if problems:
        listing = "\n".join(problems)
        raise AssertionError(f"script errors or CSP refusals on {label} ({page.url}):\n{listing}")


@pytest.fixture
def login_as(page: Any) -> Any:
    """``login_as("kosodate")`` fills the staff login form and submits it."""
    return lambda username, password=DEMO_PASSWORD: login(page, username, password)


@pytest.fixture
def axe_check(page: Any) -> Any:
    """``axe_check("受付一覧")`` runs axe-core on the page as it is now and asserts no violations."""
    return lambda label: assert_accessible(page, label)
