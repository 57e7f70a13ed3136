"""Benchmark: the department back-office inbox at 1,000,000 applications in PostgreSQL.

The issue: "1,000,000 applications in PostgreSQL (loaded by a bulk path), inbox queries for a
department (status filter, sort by deadline, 50 rows, name search): p50/p95 and SQL count per
page. Goal: p95 < 100 ms, constant query count."

What runs is exactly what the staff inbox view runs: ``selectors.inbox_page(actor=..., filters=...)``
with ``InboxFilters.from_querydict(<the page's GET parameters>)`` and the Actor of a 担当 (handler)
of 子育て支援課 built by ``staff_actor``. Nothing of the query is re-implemented here.

Steps:
 1. a fresh database ``madoguchi_bench`` (created through the server's ``postgres`` database, dropped
    at the end unless ``--keep``), ``migrate``;
 2. a municipality, the default departments and workflows, 29 procedures (one FormVersion each),
    handlers per department (the measured user is a handler of 子育て支援課 only) and a 窓口 clerk;
 3. the baseline: ``--baseline-rows`` applications loaded with ``COPY``, ``VACUUM ANALYZE``, every
    scenario measured ``--repeat`` times after 3 warm-ups;
 4. the full size: the table truncated and ``--rows`` applications loaded the same way (secondary
    indexes dropped during the COPY and rebuilt from their own definitions afterwards), measured;
 5. the table (p50/p95 per scenario at both sizes, the ratio p95(full)/p95(baseline), whether the
    SQL count per page is the same at both sizes), EXPLAIN (ANALYZE, BUFFERS) of every query of every
    scenario at full size (summary; full plans with ``--explain``), the raw SQL and plan of the
    slowest query, a ``BENCH_JSON {...}`` line and a verdict line.

Run (see bench/README.md)::

    dir=$(mktemp -d /tmp/mdg-bench.XXXX); eval "$(bash scripts/test-services.sh start $dir)"
    .venv/bin/python bench/inbox.py --rows 1000000 --baseline-rows 10000 --repeat 30
    bash scripts/test-services.sh stop $dir
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

GOAL_MS = 100.0
WARMUP = 3
BENCH_DEPARTMENT = "kosodate"
JST = ZoneInfo("Asia/Tokyo")
TERMINAL = {"completed", "rejected", "withdrawn"}  # catalog.workflows: is_terminal statuses

# ----------------------------------------------------------------------------------------------------
# The synthetic municipality. Shares of all applications per department (子育て支援課 ~30 %), and
# per department its procedures: (code, name, 決裁あり?, 標準処理期間 in 開庁日, relative weight).
DEPARTMENT_SHARE: dict[str, float] = {
    "kosodate": 0.30,
    "shimin": 0.28,
    "kaigo": 0.20,
    "hoiku": 0.15,
    "kikikanri": 0.04,
    "dx": 0.03,
}
PROCEDURES: dict[str, list[tuple[str, str, bool, int, float]]] = {
    "kosodate": [
        ("jidouteate-nintei", "児童手当 認定請求", True, 20, 10),
        ("jidouteate-genkyo", "児童手当 現況届", False, 10, 6),
        ("kodomo-iryo", "子ども医療費助成 申請", True, 14, 5),
        ("jidou-fuyou", "児童扶養手当 認定請求", True, 30, 3),
        ("ninshin-todoke", "妊娠の届出", False, 5, 3),
        ("shussan-ouen", "出産・子育て応援給付金 申請", True, 20, 2),
        ("jidouteate-kaitei", "児童手当 額改定請求", False, 10, 1),
    ],
    "shimin": [
        ("juminhyo", "住民票の写し等の交付請求", False, 3, 10),
        ("koseki", "戸籍証明書等の交付請求", False, 3, 6),
        ("tennyu", "転入届", False, 0, 4),
        ("tenshutsu", "転出届", False, 0, 4),
        ("tenkyo", "転居届", False, 0, 2),
        ("inkan", "印鑑登録申請", False, 5, 2),
        ("mynumber-card", "マイナンバーカード交付申請", False, 20, 3),
        ("kazei-shoumei", "課税証明書の交付請求", False, 5, 3),
        ("fuzaiseki", "不在籍証明書の交付請求", False, 5, 1),
        ("shimei-henkou", "旧氏の記載請求", False, 5, 1),
    ],
    "hoiku": [
        ("hoiku-nintei", "保育の必要性認定申請", True, 30, 5),
        ("hoiku-moushikomi", "保育所等入所申込", True, 30, 5),
        ("hoiku-tenen", "転園申込", True, 30, 2),
        ("hoiku-taien", "退園届", False, 5, 1),
    ],
    "kaigo": [
        ("youkaigo-nintei", "要介護・要支援認定申請", True, 30, 6),
        ("hihokensha-saikoufu", "被保険者証再交付申請", False, 5, 3),
        ("kougaku-kaigo", "高額介護サービス費支給申請", True, 20, 3),
        ("futan-gendo", "負担限度額認定申請", True, 20, 2),
        ("jutaku-kaishu", "住宅改修費支給申請", True, 14, 1),
    ],
    "kikikanri": [
        ("risai-shoumei", "罹災証明書交付申請", True, 14, 3),
        ("hinan-shien", "避難行動要支援者名簿登録申請", False, 10, 1),
    ],
    "dx": [("opendata", "オープンデータ利用申請", False, 10, 1)],
}
MINIMAL_FORM: dict[str, Any] = {
    "title": "t",
    "sections": [
        {
            "id": "s",
            "title": "s",
            "fields": [{"id": "name", "type": "text", "label": "氏名", "required": True}],
        }
    ],
}
# Status shares per workflow (~50 % finished: completed / rejected / withdrawn).
STATUS_SHARE: dict[str, dict[str, float]] = {
    "shinsei": {
        "received": 0.12,
        "reviewing": 0.19,
        "correction_requested": 0.05,
        "resubmitted": 0.03,
        "pending_approval": 0.07,
        "approved": 0.04,
        "completed": 0.39,
        "rejected": 0.06,
        "withdrawn": 0.05,
    },
    "todokede": {
        "received": 0.15,
        "reviewing": 0.26,
        "correction_requested": 0.06,
        "resubmitted": 0.03,
        "completed": 0.43,
        "rejected": 0.03,
        "withdrawn": 0.04,
    },
}
FINISHED = frozenset({"completed", "rejected", "withdrawn"})
CHANNEL_SHARE = {"online": 0.55, "pittari": 0.20, "counter": 0.18, "paper": 0.07}
HANDLERS_PER_DEPARTMENT = 4
ASSIGNED_SHARE = 0.40
NEEDS_REVIEW_SHARE = 0.05

# The inbox pages measured: (key, label, GET parameters of the staff page, actor, counts for the goal).
# ``procedure`` is filled in with the id of the department's most frequent procedure.
SCENARIOS: list[tuple[str, str, dict[str, str], str, bool]] = [
    ("default", "default: open, by deadline, p.1", {}, "dept", True),
    ("status", "status=reviewing", {"status": "reviewing"}, "dept", True),
    ("overdue", "due=overdue", {"due": "overdue"}, "dept", True),
    ("name_kana", "q=ヤマダ (kana)", {"q": "ヤマダ"}, "dept", True),
    ("name_kanji", "q=髙橋 (folds to 高橋)", {"q": "髙橋"}, "dept", True),
    ("deep_page", "open, page=50", {"page": "50"}, "dept", True),
    (
        "procedure",
        "procedure=児童手当認定 + status=received",
        {"status": "received", "procedure": "?"},
        "dept",
        True,
    ),
    ("clerk", "(info) 窓口 clerk, whole municipality, p.1", {}, "clerk", False),
]


# ----------------------------------------------------------------------------------------------------
# Environment and database: done before Django is imported, since settings read DATABASE_URL.
def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _prepare_environment(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """Check DATABASE_URL is PostgreSQL, create the bench database, point Django at it."""
    url = os.environ.get("DATABASE_URL", "")
    scheme = urlsplit(url).scheme if url else ""
    if scheme not in {"postgres", "postgresql"}:
        what = "SQLite (DATABASE_URL is not set)" if not url else f"a {scheme!r} database"
        sys.exit(
            f"bench/inbox.py measures PostgreSQL and refuses to run on {what}.\n"
            "Start throwaway servers and export DATABASE_URL first, e.g.\n"
            '  dir=$(mktemp -d /tmp/mdg-bench.XXXX); eval "$(bash scripts/test-services.sh start $dir)"\n'
            "(see bench/README.md)."
        )
    original_db = urlsplit(url).path.lstrip("/")
    if args.database == original_db:
        sys.exit(
            f"--database {args.database!r} is the database of DATABASE_URL: the bench drops and recreates "
            "its database, so pick another name (default madoguchi_bench)."
        )
    import psycopg
    from psycopg import sql

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.database)))
    bench_url = _with_db(url, args.database)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("MADOGUCHI_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    data_dir = None
    if "MADOGUCHI_DATA_DIR" not in os.environ:  # keep settings' generated secrets out of ./var
        data_dir = tempfile.mkdtemp(prefix="mdg-bench-data.")
        os.environ["MADOGUCHI_DATA_DIR"] = data_dir
    return url, bench_url, data_dir


def _drop_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# ----------------------------------------------------------------------------------------------------
# The catalog, departments and staff (a few hundred rows: through the ORM and the project's services).
@dataclass
class ProcedureInfo:
    id: int
    form_version_id: int
    department_id: int
    department_code: str
    short_name: str
    workflow: str  # "shinsei" | "todokede"
    standard_days: int
    weight: float


@dataclass
class World:
    municipality: Any
    procedures: list[ProcedureInfo]
    status_ids: dict[str, dict[str, int]]  # workflow code -> status code -> id
    handlers: dict[int, list[int]]  # department id -> user ids
    bench_user: Any
    clerk_user: Any
    department_ids: dict[str, int] = field(default_factory=dict)


def build_world() -> World:
    from django.contrib.auth import get_user_model

    from madoguchi.catalog.models import FormVersion, Procedure, StatusType
    from madoguchi.catalog.schema import parse_definition
    from madoguchi.catalog.services import department_ensure_defaults, workflow_ensure_defaults
    from madoguchi.core.jp.codes import municipality_check_digit
    from madoguchi.core.models import Municipality, Role, StaffAssignment

    parse_definition(MINIMAL_FORM)  # the minimal form must be a valid definition
    workflows = workflow_ensure_defaults()
    municipality = Municipality.objects.create(
        code="99998" + str(municipality_check_digit("99998")),
        name="ベンチ市",
        prefecture="架空県",
        name_kana="ベンチシ",
    )
    departments = department_ensure_defaults(municipality=municipality)
    procedures: list[ProcedureInfo] = []
    for dept_code, specs in PROCEDURES.items():
        dept = departments[dept_code]
        total_weight = sum(s[4] for s in specs)
        for code, name, approval, days, weight in specs:
            wf_code = "shinsei" if approval else "todokede"
            proc = Procedure.objects.create(
                municipality=municipality,
                code=code,
                name=name,
                category="bench",
                department=dept,
                standard_days=days,
                approval_chain=["approver"] if approval else [],
                workflow=workflows[wf_code],
            )
            form = FormVersion.objects.create(procedure=proc, version=1, definition=MINIMAL_FORM)
            procedures.append(
                ProcedureInfo(
                    id=proc.pk,
                    form_version_id=form.pk,
                    department_id=dept.pk,
                    department_code=dept_code,
                    short_name=dept.short_name,
                    workflow=wf_code,
                    standard_days=days,
                    weight=DEPARTMENT_SHARE[dept_code] * weight / total_weight,
                )
            )
    status_ids = {
        wf: dict(StatusType.objects.filter(workflow=workflows[wf]).values_list("code", "id"))
        for wf in workflows
    }
    user_model = get_user_model()
    handlers: dict[int, list[int]] = {}
    bench_user = None
    for dept_code, dept in departments.items():
        for i in range(1, HANDLERS_PER_DEPARTMENT + 1):
            user = user_model.objects.create(
                username=f"bench-{dept_code}-{i}", last_name="担当", first_name=f"{dept_code}{i}"
            )
            StaffAssignment.objects.create(
                user=user, municipality=municipality, department=dept, role=Role.HANDLER
            )
            handlers.setdefault(dept.pk, []).append(user.pk)
            if dept_code == BENCH_DEPARTMENT and i == 1:
                bench_user = user
    clerk = user_model.objects.create(username="bench-clerk", last_name="窓口", first_name="職員")
    StaffAssignment.objects.create(user=clerk, municipality=municipality, department=None, role=Role.CLERK)
    return World(
        municipality=municipality,
        procedures=procedures,
        status_ids=status_ids,
        handlers=handlers,
        bench_user=bench_user,
        clerk_user=clerk,
        department_ids={c: d.pk for c, d in departments.items()},
    )


# ----------------------------------------------------------------------------------------------------
# The bulk path: rows generated while streaming into COPY (nothing is held in memory).
COLUMNS = (
    "municipality_id",
    "reception_number",
    "procedure_id",
    "form_version_id",
    "department_id",
    "channel",
    "data",
    "applicant_name",
    "applicant_kana",
    "name_key",
    "kana_key",
    "status_id",
    "is_open",
    "submitted_at",
    "deadline",
    "assignee_id",
    "approval_step",
    "correction_fields",
    "correction_requested_at",
    "needs_review",
    "review_reason",
    "version",
    "updated_at",
)


def _picker(items: list[Any], weights: list[float]) -> Callable[[float], Any]:
    cum = list(accumulate(weights))
    total = cum[-1]
    last = len(items) - 1

    def pick(u: float) -> Any:
        return items[min(bisect(cum, u * total), last)]

    return pick


def _name_pool() -> tuple[list[tuple[str, str, str, str, str]], list[float]]:
    """Every (family, given) pair with its folded keys; family names Zipf-weighted (佐藤 most common)."""
    from madoguchi.core.jp.normalize import search_key
    from madoguchi.demo.people import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES

    given = MALE_NAMES + FEMALE_NAMES
    pool, weights = [], []
    for rank, (family, family_kana) in enumerate(FAMILY_NAMES):
        for first, first_kana in given:
            name, kana = f"{family} {first}", f"{family_kana} {first_kana}"
            pool.append(
                (name, kana, search_key(name), search_key(kana), json.dumps(name, ensure_ascii=False))
            )
            weights.append(1.0 / (rank + 1) ** 0.7 / len(given))
    return pool, weights


def generate_rows(
    world: World, n: int, seed: int, now: datetime
) -> tuple[Iterator[tuple[Any, ...]], dict[str, int]]:
    """The rows for COPY, and (filled in while they stream) the last number used per 受付番号 prefix."""
    from madoguchi.applications.services import fiscal_year_start
    from madoguchi.core.jp.wareki import era_year_code
    from madoguchi.demo.people import TOWNS

    counters: dict[str, int] = {}

    def rows() -> Iterator[tuple[Any, ...]]:
        rng = random.Random(seed)
        rand, randint = rng.random, rng.randint
        today = now.astimezone(JST).date()
        pick_proc = _picker(world.procedures, [p.weight for p in world.procedures])
        pool, pool_weights = _name_pool()
        pick_name = _picker(pool, pool_weights)
        pick_status = {
            wf: _picker([world.status_ids[wf][c] for c in shares], list(shares.values()))
            for wf, shares in STATUS_SHARE.items()
        }
        code_of = {sid: code for wf in world.status_ids.values() for code, sid in wf.items()}
        pick_channel = _picker(list(CHANNEL_SHARE), list(CHANNEL_SHARE.values()))
        mid = world.municipality.pk
        days = {off: today + timedelta(days=off) for off in range(-400, 401)}
        era_cache: dict[date, str] = {}
        for _ in range(n):
            proc = pick_proc(rand())
            status_id = pick_status[proc.workflow](rand())
            status = code_of[status_id]
            finished = status in FINISHED
            # Deadlines spread ±120 days around today: open work mostly ahead (some overdue), finished work behind.
            if proc.standard_days:
                deadline: date | None = days[randint(-120, 30) if finished else randint(-15, 120)]
                lead = int(proc.standard_days * 1.4) + randint(0, 4)
                submitted = datetime.combine(deadline - timedelta(days=lead), datetime.min.time(), JST)
            else:
                deadline = None
                submitted = datetime.combine(days[-randint(0, 240)], datetime.min.time(), JST)
            submitted += timedelta(seconds=randint(8 * 3600, 20 * 3600))
            if submitted > now:
                submitted = now - timedelta(seconds=randint(60, 3 * 86400))
            fy = fiscal_year_start(submitted.date())
            era = era_cache.get(fy) or era_cache.setdefault(fy, era_year_code(fy))
            prefix = f"{era}-{proc.short_name}"
            number = counters[prefix] = counters.get(prefix, 0) + 1
            name, kana, name_key, kana_key, name_json = pick_name(rand())
            town, postal = TOWNS[randint(0, len(TOWNS) - 1)]
            channel = pick_channel(rand())
            needs_review = rand() < NEEDS_REVIEW_SHARE
            review_reason = (
                ("AI-OCR の読取信頼度が低い項目があります" if channel == "paper" else "住所の確認が必要です")
                if needs_review
                else ""
            )
            assignee = (
                world.handlers[proc.department_id][randint(0, HANDLERS_PER_DEPARTMENT - 1)]
                if rand() < ASSIGNED_SHARE
                else None
            )
            correction = status == "correction_requested"
            updated = submitted + timedelta(days=randint(0, 20)) if status != "received" else submitted
            if updated > now:
                updated = now
            data = (
                f'{{"name": {name_json}, "birth_date": "{randint(1940, 2005)}-{randint(1, 12):02d}-{randint(1, 28):02d}", '
                f'"postal_code": "{postal}", "address": "みどり市{town}{randint(1, 5)}-{randint(1, 30)}-{randint(1, 20)}"}}'
            )
            yield (
                mid,
                f"{prefix}-{number:06d}",
                proc.id,
                proc.form_version_id,
                proc.department_id,
                channel,
                data,
                name,
                kana,
                name_key,
                kana_key,
                status_id,
                status not in TERMINAL,
                submitted,
                deadline,
                assignee,
                1 if status == "pending_approval" else 0,
                '["name"]' if correction else "[]",
                updated if correction else None,
                needs_review,
                review_reason,
                1 if status == "received" else 2 + (number % 3),
                updated,
            )

    return rows(), counters


def load_applications(
    world: World, bench_url: str, n: int, seed: int, *, rebuild_indexes: bool
) -> dict[str, Any]:
    """TRUNCATE, then COPY ... FREEZE n generated rows (FK triggers off), rebuild indexes, VACUUM ANALYZE."""
    import psycopg
    from django.utils import timezone

    from madoguchi.applications.models import Application, NumberSequence

    table = Application._meta.db_table
    seq_table = NumberSequence._meta.db_table
    timings: dict[str, Any] = {"rows": n}
    now = timezone.now()
    rows, counters = generate_rows(world, n, seed, now)
    t_start = time.perf_counter()
    with psycopg.connect(bench_url) as conn:
        cur = conn.cursor()
        superuser = cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        if superuser:  # rows are generated with valid foreign keys: skip the 6 RI checks per row
            cur.execute("SET session_replication_role = replica")
        timings["fk_checks_during_copy"] = not superuser
        cur.execute("SET maintenance_work_mem = '256MB'")
        cur.execute(f"TRUNCATE {table}, {seq_table} RESTART IDENTITY CASCADE")
        dropped: list[tuple[str, str]] = []
        if rebuild_indexes:  # secondary indexes (not those behind constraints): dropped, rebuilt after COPY
            dropped = cur.execute(
                "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) ORDER BY c.relname",
                (table,),
            ).fetchall()
            for name, _ in dropped:
                cur.execute(f'DROP INDEX "{name}"')
        t0 = time.perf_counter()
        with cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN WITH (FREEZE)") as copy:
            for i, row in enumerate(rows, 1):
                copy.write_row(row)
                if i % 200_000 == 0:
                    rate = i / (time.perf_counter() - t0)
                    print(f"    … {i:>9,} rows copied ({rate:,.0f} rows/s)", flush=True)
        timings["copy_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _, definition in dropped:
            cur.execute(definition)
        timings["index_rebuild_s"] = time.perf_counter() - t0
        timings["indexes_rebuilt"] = [name for name, _ in dropped]
        with cur.copy(f"COPY {seq_table} (municipality_id, prefix, last) FROM STDIN") as copy:
            for prefix, last in counters.items():
                copy.write_row((world.municipality.pk, prefix, last))
        conn.commit()
        conn.autocommit = True
        t0 = time.perf_counter()
        cur.execute(f"VACUUM (ANALYZE) {table}")
        cur.execute("ANALYZE")
        timings["vacuum_analyze_s"] = time.perf_counter() - t0
        timings["table_size"] = cur.execute(
            "SELECT pg_size_pretty(pg_table_size(%s::regclass)) || ' table + ' || "
            "pg_size_pretty(pg_indexes_size(%s::regclass)) || ' indexes'",
            (table, table),
        ).fetchone()[0]
    timings["total_s"] = time.perf_counter() - t_start
    return timings


# ----------------------------------------------------------------------------------------------------
# Measuring
class QueryTimer:
    """``connection.execute_wrapper``: each query's SQL, params and time (ms, perf_counter precision)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, float]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((sql, params, (time.perf_counter() - t0) * 1000))


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class Result:
    key: str
    label: str
    gated: bool
    total: int
    page: int
    pages: int
    rows: int
    walls: list[float]
    query_counts: list[int]
    queries: list[dict[str, Any]]  # per position: sql, params, raw (mogrified) sql, times

    @property
    def p50(self) -> float:
        return statistics.median(self.walls)

    @property
    def p95(self) -> float:
        return percentile(self.walls, 95)

    @property
    def constant_queries(self) -> bool:
        return len(set(self.query_counts)) == 1

    @property
    def n_queries(self) -> int:
        return max(self.query_counts)


def measure(key: str, label: str, gated: bool, actor: Any, params: dict[str, str], repeat: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from madoguchi.applications.selectors import InboxFilters, inbox_page

    filters = InboxFilters.from_querydict(params)  # exactly what the staff page does with request.GET
    for _ in range(WARMUP):
        inbox_page(actor=actor, filters=filters)
    walls: list[float] = []
    counts: list[int] = []
    queries: list[dict[str, Any]] = []
    page = None
    for _ in range(repeat):
        timer = QueryTimer()
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
            t0 = time.perf_counter()
            page = inbox_page(actor=actor, filters=filters)
            walls.append((time.perf_counter() - t0) * 1000)
        counts.append(len(ctx.captured_queries))
        for i, (sql, qparams, ms) in enumerate(timer.calls):
            if i == len(queries):
                queries.append(
                    {"sql": sql, "params": qparams, "raw": ctx.captured_queries[i]["sql"], "ms": []}
                )
            queries[i]["ms"].append(ms)
    assert page is not None and len(page.rows) <= 50
    return Result(
        key=key,
        label=label,
        gated=gated,
        total=page.total,
        page=page.page,
        pages=page.pages,
        rows=len(page.rows),
        walls=walls,
        query_counts=counts,
        queries=queries,
    )


def measure_floor(table: str, repeat: int) -> float:
    """p95 of a bare primary-key scan ``SELECT id ... ORDER BY id LIMIT 50``: the round-trip floor."""
    from django.db import connection

    walls = []
    with connection.cursor() as cur:
        for i in range(WARMUP + repeat):
            t0 = time.perf_counter()
            cur.execute(f"SELECT id FROM {table} ORDER BY id LIMIT 50")  # noqa: S608 (model table name)
            cur.fetchall()
            if i >= WARMUP:
                walls.append((time.perf_counter() - t0) * 1000)
    return percentile(walls, 95)


def run_size(world: World, repeat: int) -> tuple[list[Result], float]:
    from madoguchi.applications.models import Application
    from madoguchi.core.scope import staff_actor

    actors = {
        "dept": staff_actor(world.bench_user, municipality=world.municipality),
        "clerk": staff_actor(world.clerk_user, municipality=world.municipality),
    }
    top_procedure = max(
        (p for p in world.procedures if p.department_code == BENCH_DEPARTMENT), key=lambda p: p.weight
    )
    results = []
    for key, label, params, actor, gated in SCENARIOS:
        params = {k: (str(top_procedure.id) if v == "?" else v) for k, v in params.items()}
        r = measure(key, label, gated, actors[actor], params, repeat)
        print(
            f"    {pad(label, 44)} total={r.total:>8,}  p50={r.p50:7.1f} ms  p95={r.p95:7.1f} ms  "
            f"queries={r.n_queries}",
            flush=True,
        )
        results.append(r)
    return results, measure_floor(Application._meta.db_table, repeat)


# ----------------------------------------------------------------------------------------------------
# EXPLAIN
def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def explain(sql: str, params: Any) -> tuple[dict[str, Any], str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        raw = cur.fetchone()[0]
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        text = "\n".join(r[0] for r in cur.fetchall())
    return plan, text


def plan_summary(plan: dict[str, Any]) -> dict[str, Any]:
    from madoguchi.applications.models import Application

    table = Application._meta.db_table
    root = plan["Plan"]
    access = []
    seq_scan = False
    for node in _walk(root):
        kind = node["Node Type"]
        if node.get("Relation Name") == table or (
            node.get("Index Name") and kind.startswith(("Index", "Bitmap"))
        ):
            rows = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
            where = node.get("Index Name") or node.get("Relation Name")
            removed = node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1)
            access.append(
                f"{kind} {where} (rows={rows:,}{f', removed by filter={removed:,}' if removed else ''})"
            )
            if kind == "Seq Scan" and node.get("Relation Name") == table:
                seq_scan = True
    return {
        "execution_ms": plan.get("Execution Time"),
        "planning_ms": plan.get("Planning Time"),
        "top": root["Node Type"],
        "access": access,
        "seq_scan_on_applications": seq_scan,
        "indexes": sorted({n["Index Name"] for n in _walk(root) if n.get("Index Name")}),
        "shared_hit": root.get("Shared Hit Blocks", 0),
        "shared_read": root.get("Shared Read Blocks", 0),
        "parallel_workers": sum(n.get("Workers Launched", 0) for n in _walk(root)),
    }


def query_kind(sql: str) -> str:
    s = sql.upper()
    if s.startswith("SELECT COUNT(*)"):
        return "count"
    if "GROUP BY" in s:
        return "status counts"
    if "LIMIT" in s:
        return "rows (LIMIT 50)"
    return "other"


# ----------------------------------------------------------------------------------------------------
# Report
def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def pad(s: str, w: int) -> str:
    """Left-align to w terminal columns (全角 characters count two)."""
    return s + " " * max(w - width(s), 0)


def fmt_n(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def print_table(
    base: list[Result], full: list[Result], base_n: int, full_n: int, floors: tuple[float, float]
) -> None:
    b, f = fmt_n(base_n), fmt_n(full_n)
    head = (
        f"{pad('scenario', 44)} | {'total@' + b:>9} {'page':>4} {'p50':>6} {'p95':>6} {'q':>2} | {'total@' + f:>10} "
        f"{'page':>4} {'p50':>7} {'p95':>7} {'q':>2} | {'p95 ratio':>9} | {'q const':>7} | {'<100ms':>6}"
    )
    print(head)
    print("-" * len(head))
    for rb, rf in zip(base, full, strict=True):
        ratio = rf.p95 / rb.p95 if rb.p95 else float("inf")
        const = (
            "yes" if rb.n_queries == rf.n_queries and rb.constant_queries and rf.constant_queries else "NO"
        )
        goal = ("ok" if rf.p95 < GOAL_MS else "SLOW") if rf.gated else "(info)"
        print(
            f"{pad(rf.label, 44)} | {rb.total:>9,} {rb.page:>4} {rb.p50:>6.1f} {rb.p95:>6.1f} {rb.n_queries:>2} | "
            f"{rf.total:>10,} {rf.page:>4} {rf.p50:>7.1f} {rf.p95:>7.1f} {rf.n_queries:>2} | {ratio:>8.1f}x | {const:>7} | "
            f"{goal:>6}"
        )
    print(
        f"{pad('floor: SELECT id ORDER BY id LIMIT 50', 44)} | {'':>9} {'':>4} {'':>6} {floors[0]:>6.2f} {'':>2} | "
        f"{'':>10} {'':>4} {'':>7} {floors[1]:>7.2f} {'':>2} | {floors[1] / floors[0] if floors[0] else 0:>8.1f}x |"
    )
    print(
        "p50/p95 in ms of one inbox_page() call (wall clock, Django + driver included); q = SQL queries per page."
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="applications at full size (default 1,000,000)"
    )
    parser.add_argument(
        "--baseline-rows", type=int, default=10_000, help="applications for the baseline (default 10,000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=30, help="timed calls per scenario, after 3 warm-ups (default 30)"
    )
    parser.add_argument("--seed", type=int, default=20240401)
    parser.add_argument(
        "--database", default="madoguchi_bench", help="scratch database (dropped and recreated)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (with the full-size data) at the end"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of every query at full size"
    )
    args = parser.parse_args()
    if args.repeat < 5 or args.rows < 1 or args.baseline_rows < 1:
        parser.error("--repeat must be >= 5 and the row counts positive")

    original_url, bench_url, data_dir = _prepare_environment(args)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from madoguchi.applications.services import status_counts_rebuild

    try:
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        server = connection.cursor().connection.info.parameter_status("server_version")
        print(
            f"inbox benchmark — PostgreSQL {server}, database {args.database}, migrate {time.perf_counter() - t0:.1f} s, "
            f"{os.cpu_count()} CPUs, repeat={args.repeat} (+{WARMUP} warm-ups)"
        )
        world = build_world()
        print(
            f"  {len(world.procedures)} procedures; measured user {world.bench_user.username} = 担当 of 子育て支援課 only"
        )

        sizes: dict[int, tuple[list[Result], float, dict[str, Any]]] = {}
        for n in (args.baseline_rows, args.rows):
            print(f"\n[{fmt_n(n)} applications] loading with COPY …", flush=True)
            load = load_applications(world, bench_url, n, args.seed, rebuild_indexes=n >= 100_000)
            print(
                f"  loaded in {load['total_s']:.1f} s (COPY {load['copy_s']:.1f} s = {n / load['copy_s']:,.0f} rows/s, "
                f"index rebuild {load['index_rebuild_s']:.1f} s, VACUUM ANALYZE {load['vacuum_analyze_s']:.1f} s); "
                f"{load['table_size']}",
                flush=True,
            )
            connections.close_all()  # fresh connection after the reload
            t0 = time.perf_counter()
            status_counts_rebuild()  # the inbox's per-department status counters, as after any bulk load
            load["counters_s"] = time.perf_counter() - t0
            print(f"  status counters rebuilt in {load['counters_s']:.1f} s", flush=True)
            load["loadavg_at_measure"] = [round(x, 2) for x in os.getloadavg()]
            print(
                f"  measuring (machine load average {load['loadavg_at_measure'][0]:.2f}: other work adds noise)"
            )
            results, floor = run_size(world, args.repeat)
            sizes[n] = (results, floor, load)

        base, base_floor, _ = sizes[args.baseline_rows]
        full, full_floor, full_load = sizes[args.rows]

        print(
            f"\nEXPLAIN (ANALYZE, BUFFERS) at {fmt_n(args.rows)}: every query of every page (median time over the run)"
        )
        slowest: tuple[float, Result, dict[str, Any], dict[str, Any], str] | None = None
        explains: dict[str, list[dict[str, Any]]] = {}
        for r in full:
            print(f"  {r.label}")
            explains[r.key] = []
            for i, q in enumerate(r.queries, 1):
                plan, text = explain(q["sql"], q["params"])
                summary = plan_summary(plan)
                med = statistics.median(q["ms"])
                explains[r.key].append(
                    {
                        "kind": query_kind(q["sql"]),
                        "median_ms": round(med, 2),
                        "server_ms": summary["execution_ms"],
                        "indexes": summary["indexes"],
                        "seq_scan": summary["seq_scan_on_applications"],
                    }
                )
                print(
                    f"    q{i} {query_kind(q['sql']):<15} {med:7.1f} ms (server {summary['execution_ms']:.1f} ms) "
                    f"{'SEQ SCAN ' if summary['seq_scan_on_applications'] else ''}"
                    f"{'; '.join(summary['access'][:4])}; buffers hit={summary['shared_hit']:,} read={summary['shared_read']:,}"
                    f"{'; workers=' + str(summary['parallel_workers']) if summary['parallel_workers'] else ''}"
                )
                if args.explain:
                    print("      SQL: " + q["raw"])
                    print("\n".join("      | " + line for line in text.splitlines()))
                if r.gated and (slowest is None or med > slowest[0]):
                    slowest = (med, r, q, summary, text)

        print(
            f"\nRESULTS — baseline {fmt_n(args.baseline_rows)} vs full {fmt_n(args.rows)} applications "
            f"(load of {fmt_n(args.rows)}: {full_load['total_s']:.1f} s)"
        )
        print_table(base, full, args.baseline_rows, args.rows, (base_floor, full_floor))

        if slowest is not None:
            med, r, q, summary, text = slowest
            print(
                f"\nSlowest query at {fmt_n(args.rows)}: {query_kind(q['sql'])} of '{r.label}', median {med:.1f} ms, "
                f"indexes used: {', '.join(summary['indexes']) or 'NONE'}"
                f"{' — sequential scan of the applications table' if summary['seq_scan_on_applications'] else ''}"
            )
            print("  SQL: " + q["raw"])
            print("\n".join("  | " + line for line in text.splitlines()))

        gated = [r for r in full if r.gated]
        slow = [r.key for r in gated if r.p95 >= GOAL_MS]
        const = all(
            rb.n_queries == rf.n_queries and rb.constant_queries and rf.constant_queries
            for rb, rf in zip(base, full, strict=True)
        )
        payload = {
            "bench": "inbox",
            "rows": args.rows,
            "baseline_rows": args.baseline_rows,
            "repeat": args.repeat,
            "goal_p95_ms": GOAL_MS,
            "postgres": server,
            "cpus": os.cpu_count(),
            "load": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in full_load.items()},
            "baseline_loadavg_at_measure": sizes[args.baseline_rows][2]["loadavg_at_measure"],
            "floor_p95_ms": {"baseline": round(base_floor, 3), "full": round(full_floor, 3)},
            "scenarios": [
                {
                    "key": rf.key,
                    "label": rf.label,
                    "gated": rf.gated,
                    "baseline": {
                        "total": rb.total,
                        "page": rb.page,
                        "p50_ms": round(rb.p50, 2),
                        "p95_ms": round(rb.p95, 2),
                        "queries": rb.n_queries,
                    },
                    "full": {
                        "total": rf.total,
                        "page": rf.page,
                        "p50_ms": round(rf.p50, 2),
                        "p95_ms": round(rf.p95, 2),
                        "queries": rf.n_queries,
                    },
                    "p95_ratio": round(rf.p95 / rb.p95, 2) if rb.p95 else None,
                    "constant_queries": rb.n_queries == rf.n_queries
                    and rb.constant_queries
                    and rf.constant_queries,
                    "explain": explains.get(rf.key, []),
                }
                for rb, rf in zip(base, full, strict=True)
            ],
            "all_p95_under_goal": not slow,
            "constant_query_count": const,
            "slow": slow,
        }
        print("\nBENCH_JSON " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        verdict = "YES" if not slow else f"NO (p95 >= {GOAL_MS:.0f} ms: {', '.join(slow)})"
        print(
            f"SUMMARY: p95 < {GOAL_MS:.0f} ms for all department scenarios at {args.rows:,} applications: {verdict}; "
            f"query count constant between {fmt_n(args.baseline_rows)} and {fmt_n(args.rows)}: {'YES' if const else 'NO'}"
        )
        return 0
    finally:
        connections.close_all()
        if args.keep:
            print(f"(kept database {args.database}: {bench_url})")
        else:
            _drop_database(original_url, args.database)
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
