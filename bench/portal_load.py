"""Benchmark: the resident portal under 100 concurrent users, next to a hello-world ceiling (issue 4).

The issue: "submit and status-check under 100 concurrent users against the production server setup,
next to a hello-world endpoint on the same server in the same run. Goal: submit throughput >= 30% of the
hello-world ceiling, p99 < 500 ms."

What it does, in one run:
 1. PostgreSQL + Redis: those of ``DATABASE_URL``/``REDIS_URL`` when both are set (a scratch database
    ``madoguchi_portal_bench`` is created and dropped), else throwaway ones started with
    ``scripts/test-services.sh`` (stopped at the end);
 2. the production setup: ``MADOGUCHI_ENV=production`` with throwaway ``SECRET_KEY`` and
    ``MADOGUCHI_FIELD_KEY``, DEBUG off, a temporary ``MADOGUCHI_DATA_DIR``, ``migrate``, ``collectstatic``
    (manifest storage), one municipality with the 29 bundled procedures, then gunicorn serving
    ``madoguchi.wsgi`` on loopback with the production setup ``madoguchi.gunicorn_conf`` (the one
    ``madoguchi serve`` uses: 2×cores+1 sync workers; ``--workers``/``--threads`` override it);
 3. residents: password accounts (``PortalAccount``, one password hash shared, made once) and, per
    account, a session holding exactly what ``/account/login/email/`` stores after a successful login
    (``identity_login(identity_from_account(account))``). Sessions are made directly instead of
    through the login page: the page allows 20 attempts per address per 10 minutes and a PBKDF2 check
    costs ≈0.3 s of CPU, which would be measured instead of the portal;
 4. before anything, waits (every 30 s, at most ``--quiet-wait`` s) while another benchmark or test run is
    running (``pgrep -f "pittari_import|pytest"``); the load average is printed before setup and each phase;
 5. phases against the same server, each one headless locust process (``bench/locustfile_portal.py``,
    gevent, ``FastHttpUser``; closed loop: each user sends its next request when the last one answered):
      a. hello: ``GET /i18n/setlang/`` (Django's set_language: the whole middleware stack, URL routing,
         a 302, no database, no cache) — the ceiling;
      b. (info) ``GET /healthz`` (one ``SELECT 1`` and a Redis set/get);
      c. submit, saturated: each user only POSTs ``/drafts/<token>/submit/``, one draft per iteration.
         The drafts (児童手当等の現況届, ``kosodate-jidoteate-genkyo``, account level, 2 steps, one child)
         are made in setup through the portal's services (``draft_start``, then the wizard's POST fields
         parsed by ``parse_fields`` and stored with ``draft_save``), 10 per account; the CSRF cookie and
         masked token come from one GET of each account's review page, also in setup (``fetch_csrf``);
      c'. with ``--think T``: the same, each user waiting between(T/2, 1.5·T) s between requests;
      d. (info) journey: the whole wizard as a browser does it (GET/POST apply, GET/POST step 1 and 2,
         GET review, POST submit, GET the application: 9 requests) — journeys/s and its submit p99;
      e. status: the users' own applications, ``GET /my/`` and ``GET /my/applications/<id>/``
         alternately (e'. the same at think time with ``--think``);
 6. figures over the steady window (after ``--warmup`` seconds): requests/s, p50/p95/p99, status codes,
    gunicorn/PostgreSQL CPU per request; saturated submit / hello ratio; p99 saturated and at think
    time; then checks in the database that every successful submit made exactly one application (and
    nothing else made one), that each posted draft holds its application and that submitting it again
    returns the same one, and that no response was 5xx;
 7. if the goal is not met (or with ``--profile``), profiles the submit request in-process: cProfile
    over ``--profile-count`` submissions through Django's test client, SQL count per submit.

Client and server share the same cores: the locust process (one, gevent) takes CPU from gunicorn,
PostgreSQL and Redis. The CPU each used is printed per phase.

Run::

    .venv/bin/python bench/portal_load.py                  # ≈8–10 minutes, starts its own services
    .venv/bin/python bench/portal_load.py --think 3        # + submit/status at a resident's pace
    .venv/bin/python bench/portal_load.py --duration 20    # quick
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import logging
import math
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import _drop_database, _with_db  # noqa: E402

GOAL_RATIO = 0.30
GOAL_P99_MS = 500.0
PROCEDURE = "kosodate-jidoteate-genkyo"
SUBMITS_PER_ACCOUNT = 10  # = portal.services.SUBMIT_LIMIT: an account never hits the per-identity limit
PASSWORD = "portal-bench-pass-2026"
BIN = Path(sys.executable).parent

STEPS: list[dict[str, str]] = [
    {
        "applicant_name": "山田 太郎",
        "applicant_kana": "ヤマダ タロウ",
        "applicant_birth_date__era": "昭和",
        "applicant_birth_date__year": "60",
        "applicant_birth_date__month": "4",
        "applicant_birth_date__day": "1",
        "applicant_postal_code": "1000013",
        "applicant_address": "架空県みどり市本町1-2-3 みどりハイツ101",
        "applicant_phone": "090-1234-5678",
        "applicant_email": "",
        "recipient_number": "1234567",
        "pension_type": "kosei",
    },
    {
        "has_spouse": "yes",
        "lives_elsewhere": "no",
        "children__count": "1",
        "children[0].child_name": "山田 花子",
        "children[0].child_kana": "ヤマダ ハナコ",
        "children[0].child_birth_date__era": "令和",
        "children[0].child_birth_date__year": "3",
        "children[0].child_birth_date__month": "5",
        "children[0].child_birth_date__day": "10",
        "children[0].child_relationship": "1",
        "children[0].child_living": "1",
        "declaration": "on",
    },
]


# ---------------------------------------------------------------------------------------------- helpers
def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def account_ip(k: int) -> str:
    """A distinct loopback address per account (the whole of 127.0.0.0/8 is loopback on Linux)."""
    return f"127.{10 + k // 64516}.{(k // 254) % 254 + 1}.{k % 254 + 1}"


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            try:
                t = p.cpu_times()  # own time + that of its children already exited and reaped (PostgreSQL
                total += t.user + t.system + t.children_user + t.children_system  # backends come and go)
            except psutil.Error:
                pass
    return total


class Cleanup:
    """Everything started here, stopped in reverse order on exit, error or Ctrl-C."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, Any]] = []

    def add(self, label: str, fn: Any) -> None:
        self.actions.append((label, fn))

    def run(self) -> None:
        while self.actions:
            label, fn = self.actions.pop()
            try:
                fn()
            except Exception as exc:
                print(f"cleanup {label}: {exc!r}", file=sys.stderr)


def stop_process_group(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until_quiet(limit: int, pattern: str = "pittari_import|pytest", poll: float = 30.0) -> None:
    """Wait (polling every 30 s, at most ``limit`` seconds) while another benchmark or test run is running."""
    started = time.monotonic()
    while limit > 0:
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
        others = [pid for pid in found if int(pid) != os.getpid()]
        waited = time.monotonic() - started
        if not others:
            if waited >= 1:
                print(f"quiet: waited {waited:.0f} s for other runs to end; load average {os.getloadavg()[0]:.2f}")
            return
        if waited >= limit:
            print(f"NOT quiet: other runs still going after {waited:.0f} s (pids {' '.join(others[:8])}); "
                  f"measuring anyway, load average {os.getloadavg()[0]:.2f}")
            return
        print(f"waiting for other runs to end (pids {' '.join(others[:8])}; load average "
              f"{os.getloadavg()[0]:.2f}) …", flush=True)
        time.sleep(poll)


# ---------------------------------------------------------------------------------------------- setup
def start_services(cleanup: Cleanup, tmp: Path) -> dict[str, str]:
    """Reuse DATABASE_URL + REDIS_URL when both are set, else start throwaway ones."""
    url, redis = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if url and redis and urlsplit(url).scheme in {"postgres", "postgresql"}:
        return {"DATABASE_URL": url, "REDIS_URL": redis, "started": ""}
    services = Path(tempfile.mkdtemp(prefix="mdg-portal-svc."))  # chowned to postgres by the script
    out = subprocess.run(["bash", str(ROOT / "scripts/test-services.sh"), "start", str(services)],
                         check=True, capture_output=True, text=True).stdout
    cleanup.add("test services", lambda: subprocess.run(
        ["bash", str(ROOT / "scripts/test-services.sh"), "stop", str(services)], check=False))
    env = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines() if line.startswith("export "))
    return {"DATABASE_URL": env["DATABASE_URL"], "REDIS_URL": env["REDIS_URL"], "started": str(services)}


def bench_database(cleanup: Cleanup, services: dict[str, str], name: str) -> str:
    """The database URL to run against: the started server's own database, or on a reused server a
    scratch database ``name`` made fresh (dropped at the end; never DATABASE_URL's own)."""
    base_url = services["DATABASE_URL"]
    if services["started"]:
        return base_url
    import psycopg
    from psycopg import sql

    if name == urlsplit(base_url).path.lstrip("/"):
        sys.exit("--database is the database of DATABASE_URL; pick another scratch name")
    with psycopg.connect(_with_db(base_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    cleanup.add("scratch database", lambda: _drop_database(base_url, name))
    return _with_db(base_url, name)


def build(args: argparse.Namespace, users: int, accounts_per_user: int, hello_ips: list[str],
          submit_accounts: dict[str, int]) -> dict[str, Any]:
    """Schema, static manifest, municipality + catalog, accounts and their sessions (what login stores)."""
    import django
    from django.core.management import call_command

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.models import Session
    from django.core.cache import cache
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from madoguchi.catalog.services import procedure_load_fixtures, workflow_ensure_defaults
    from madoguchi.core.jp.codes import municipality_check_digit
    from madoguchi.core.models import Municipality
    from madoguchi.identity.api import SESSION_KEY
    from madoguchi.identity.models import PortalAccount
    from madoguchi.identity.selectors import identity_from_account

    logging.getLogger("madoguchi.audit").setLevel(logging.WARNING)  # this process only: no audit lines
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    workflow_ensure_defaults()
    municipality = Municipality.objects.create(
        code="99998" + str(municipality_check_digit("99998")), name="ベンチ市", prefecture="架空県",
        name_kana="ベンチシ",
    )
    procedure_load_fixtures(municipality=municipality)

    total = users * accounts_per_user + args.profile_count + users * sum(submit_accounts.values())
    hashed = make_password(PASSWORD)  # one hash for all: each PBKDF2 costs ≈0.3 s
    PortalAccount.objects.bulk_create(
        [
            PortalAccount(email=f"resident{k:05d}@example.jp", password=hashed, display_name=f"住民 {k:05d}",
                          name_kana="ジュウミン", postal_code="1000013", address="架空県みどり市本町1-2-3")
            for k in range(total)
        ],
        batch_size=1000,
    )
    engine = import_module(settings.SESSION_ENGINE)
    sessions: list[dict[str, Any]] = []
    identities: dict[int, Any] = {}
    rows: list[Session] = []
    expires = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    for k, account in enumerate(PortalAccount.objects.order_by("pk")):
        store = engine.SessionStore()
        identities[account.pk] = identity_from_account(account)
        data = {SESSION_KEY: identities[account.pk].to_session()}
        if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":  # the default: one bulk insert
            key = get_random_string(32, string.ascii_lowercase + string.digits)
            rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        else:
            store.update(data)
            store.create()
            key = store.session_key
        sessions.append({"session": key, "ip": account_ip(k), "account_id": account.pk})
    Session.objects.bulk_create(rows, batch_size=1000)
    # the portal's submit limits live in Redis: clear ours (a reused Redis may hold a previous run's)
    keys = [f"portal-submit:account:{s['account_id']}" for s in sessions]
    keys += [f"portal-submit-ip:{s['ip']}" for s in sessions]
    cache.delete_many(keys)
    journey_end = users * accounts_per_user
    profile_end = journey_end + args.profile_count
    # submit phases: for each user, its own accounts, each with SUBMITS_PER_ACCOUNT complete drafts
    submit_users: dict[str, list[list[dict[str, Any]]]] = {}
    at = profile_end
    t0 = time.perf_counter()
    for phase, per_user in submit_accounts.items():
        group = sessions[at:at + users * per_user]
        at += users * per_user
        make_drafts(group, identities, SUBMITS_PER_ACCOUNT)
        submit_users[phase] = [group[u * per_user:(u + 1) * per_user] for u in range(users)]
    made = sum(len(a["drafts"]) for g in submit_users.values() for u in g for a in u)
    print(f"setup: {made} complete drafts (draft_start + draft_save, as the wizard stores them) "
          f"in {time.perf_counter() - t0:.1f} s")
    return {
        "procedure": PROCEDURE,
        "steps": STEPS,
        "submits_per_account": SUBMITS_PER_ACCOUNT,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "cookie_domain": "127.0.0.1",
        "hello_path": args.hello_path,
        "hello_ips": hello_ips,
        "users": [sessions[u * accounts_per_user:(u + 1) * accounts_per_user] for u in range(users)],
        "profile_accounts": sessions[journey_end:profile_end],
        "submit_users": submit_users,
    }


def make_drafts(accounts: list[dict[str, Any]], identities: dict[int, Any], per_account: int) -> None:
    """Complete, valid drafts through the portal's own services, with the raw values the wizard stores.

    For each draft: ``draft_start`` (prefilled from the account), then each step's POST fields (``STEPS``)
    parsed by ``parse_fields`` and merged exactly as the step view does, then ``draft_save``. The first
    one is checked with ``validate_submission`` (what the review page and submit check)."""
    from django.db import transaction
    from django.http import QueryDict
    from django.utils import timezone
    from django.utils.datastructures import MultiValueDict

    from madoguchi.applications.storage import blob_store
    from madoguchi.catalog.models import Procedure
    from madoguchi.catalog.schema import validate_submission
    from madoguchi.portal.forms import parse_fields, section_field_ids, unseal
    from madoguchi.portal.services import draft_save, draft_start

    procedure = Procedure.objects.get(code=PROCEDURE)
    posts = []
    for fields in STEPS:
        q = QueryDict(mutable=True)
        for key, value in fields.items():
            q[key] = value
        posts.append(q)
    checked = False
    for account in accounts:
        identity = identities[account["account_id"]]
        account["drafts"] = []
        with transaction.atomic():
            for _ in range(per_account):
                draft = draft_start(procedure=procedure, identity=identity)
                definition = draft.form_version.parsed()
                data = dict(draft.data)
                for n, section in enumerate(definition.sections, start=1):
                    values = parse_fields(section.fields, posts[n - 1], MultiValueDict(), data,
                                          store_file=blob_store, upload_errors={})
                    ids = section_field_ids(section)
                    data = {k: v for k, v in data.items() if k not in ids}
                    data.update(values)
                    draft = draft_save(draft=draft, data=data, step=n)
                if not checked:
                    result = validate_submission(definition, unseal(definition, draft.data), today=timezone.localdate())
                    if not result.ok:
                        sys.exit(f"bench drafts are not valid: {result.errors}")
                    checked = True
                account["drafts"].append(str(draft.token))


def fetch_csrf(host: str, config: dict[str, Any]) -> float:
    """Before the submit phases, outside every timed window: each submit account's "browser" GETs the
    review page of its first draft once (as the resident does before clicking 送信) and keeps the
    ``csrftoken`` cookie and the form's masked ``csrfmiddlewaretoken``, as the browser's form post sends them."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    port = int(urlsplit(host).port or 80)
    accounts = [a for g in config["submit_users"].values() for u in g for a in u]

    def one(account: dict[str, Any]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(account["ip"], 0))
        try:
            conn.request("GET", f"/drafts/{account['drafts'][0]}/review/",
                         headers={"Cookie": f"{config['session_cookie']}={account['session']}"})
            r = conn.getresponse()
            body = r.read().decode("utf-8", "replace")
            cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
        finally:
            conn.close()
        if r.status != 200:
            raise RuntimeError(f"review page of a bench draft: status {r.status} (draft not valid?)")
        prefix = config["csrf_cookie"] + "="
        cookie = next((c.split(";", 1)[0][len(prefix):] for c in cookies if c.startswith(prefix)), "")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if not cookie or match is None:
            raise RuntimeError("review page without a CSRF cookie or token")
        account["csrf_cookie"], account["csrf_token"] = cookie, match.group(1)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, accounts))
    return time.perf_counter() - t0


def start_gunicorn(args: argparse.Namespace, env: dict[str, str], tmp: Path, cleanup: Cleanup) -> tuple[Any, str]:
    port = args.port or free_port()
    # the production setup (madoguchi.gunicorn_conf, as `madoguchi serve`); only the address and the log
    # files differ, and the worker count / threads when given on the command line
    argv = [
        str(BIN / "gunicorn"), "--config", "python:madoguchi.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
        *(["--workers", str(args.workers)] if args.workers else []),
        *(["--threads", str(args.threads)] if args.threads else []),
        "--access-logfile", str(tmp / "access.log"), "--error-logfile", str(tmp / "gunicorn.log"),
        "madoguchi.wsgi:application",
    ]
    log = open(tmp / "gunicorn.out", "wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            cwd=str(tmp))
    cleanup.add("gunicorn", lambda: (stop_process_group(proc), log.close()))
    host = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{host}/healthz", timeout=5) as r:  # noqa: S310 - loopback
                if r.status == 200:
                    return proc, host
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"gunicorn did not start; see {tmp / 'gunicorn.log'}:\n" + (tmp / "gunicorn.log").read_text()[-3000:])
        time.sleep(0.3)


# ---------------------------------------------------------------------------------------------- phases
def run_phase(phase: str, duration: int, users: int, host: str, config_path: Path, tmp: Path,
              gunicorn_pid: int, pg_pid: int | None, ramp: float, think: float = 0.0) -> dict[str, Any]:
    import psutil

    out = tmp / f"{phase}.json"
    env = {**os.environ, "MDG_PORTAL_PHASE": phase, "MDG_PORTAL_CONFIG": str(config_path), "MDG_PORTAL_OUT": str(out),
           "MDG_PORTAL_THINK": str(think)}
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MADOGUCHI_FIELD_KEY", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)  # the client knows nothing of the server's secrets
    argv = [
        str(BIN / "locust"), "-f", str(ROOT / "bench/locustfile_portal.py"), "--headless", "-u", str(users),
        "-r", f"{users / max(ramp, 0.1):.2f}", "-t", f"{duration}s", "-H", host, "--stop-timeout", "60", "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]
    others = subprocess.run(["pgrep", "-f", "pittari_import|pytest"], capture_output=True, text=True).stdout.split()
    print(f"-- phase {phase}: load average {os.getloadavg()[0]:.2f}, other benchmark/test processes running: "
          f"{len(others)}", flush=True)
    server_before = cpu_seconds([gunicorn_pid])
    pg_before = cpu_seconds([pg_pid]) if pg_pid else 0.0
    total_before = psutil.cpu_times()
    started = time.monotonic()
    with open(tmp / f"{phase}.locust.log", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(duration + 180)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            stop_process_group(proc)
            raise
    wall = time.monotonic() - started
    total_after = psutil.cpu_times()
    busy = sum(getattr(total_after, f) - getattr(total_before, f) for f in ("user", "system", "nice", "irq", "softirq"))
    if not out.exists():
        sys.exit(f"locust wrote no results for {phase}; see {tmp / f'{phase}.locust.log'}:\n"
                 + (tmp / f"{phase}.locust.log").read_text()[-3000:])
    data: dict[str, Any] = json.loads(out.read_text())
    data["cpu"] = {
        "wall": wall,
        "gunicorn": cpu_seconds([gunicorn_pid]) - server_before,
        "postgres": (cpu_seconds([pg_pid]) - pg_before) if pg_pid else None,
        "client": data.get("client_cpu_seconds", 0.0),
        "machine_busy": busy,
        "cores": os.cpu_count() or 1,
    }
    data["duration"] = duration
    return data


def summarize(data: dict[str, Any], warmup: float) -> dict[str, Any]:
    """Per request name: count, req/s, percentiles over the steady window; status codes over all."""
    records = data["records"]
    if not records:
        return {"names": {}, "window": 0.0, "statuses": {}}
    start = min(end - ms / 1000 for _, _, ms, end in records)
    lo, hi = start + warmup, start + data["duration"]
    window = hi - lo
    names: dict[str, dict[str, Any]] = {}
    statuses: Counter[str] = Counter()
    for name, status, ms, end in records:
        statuses[str(status)] += 1
        entry = names.setdefault(name, {"all": 0, "lat": [], "codes": Counter()})
        entry["all"] += 1
        entry["codes"][str(status)] += 1
        if lo <= end <= hi:
            entry["lat"].append(ms)
    out: dict[str, Any] = {}
    for name, e in names.items():
        lat = e["lat"]
        out[name] = {
            "count": len(lat), "total": e["all"], "rps": len(lat) / window if window > 0 else 0.0,
            "p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
            "max": max(lat) if lat else float("nan"), "codes": dict(e["codes"]),
        }
    journeys = [t for t in data.get("journeys", []) if lo <= t <= hi]
    return {"names": out, "window": window, "statuses": dict(statuses),
            "journeys_per_s": len(journeys) / window if window > 0 else 0.0}


def print_phase(title: str, summary: dict[str, Any], cpu: dict[str, Any]) -> None:
    print(f"\n== {title}  (steady window {summary['window']:.1f} s)")
    print(f"  {'request':<32} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  status codes")
    for name, s in summary["names"].items():
        codes = " ".join(f"{c}×{n}" for c, n in sorted(s["codes"].items()))
        print(f"  {name:<32} {s['rps']:8.1f} {s['p50']:8.1f} {s['p95']:8.1f} {s['p99']:8.1f} {s['max']:8.1f}  {codes}")
    wall, cores = cpu["wall"], cpu["cores"]
    pg = f", PostgreSQL {cpu['postgres'] / wall:.2f}" if cpu.get("postgres") is not None else ""
    print(f"  CPU (cores busy, of {cores}; client and server share them): gunicorn {cpu['gunicorn'] / wall:.2f}"
          f"{pg}, locust client {cpu['client'] / wall:.2f}, whole machine {cpu['machine_busy'] / wall:.2f}")
    requests = sum(s["total"] for s in summary["names"].values())
    if requests:
        pg_ms = f", PostgreSQL {cpu['postgres'] * 1000 / requests:.2f} ms" if cpu.get("postgres") is not None else ""
        print(f"  CPU per request (whole phase, {requests} requests): gunicorn {cpu['gunicorn'] * 1000 / requests:.2f} ms"
              f"{pg_ms}")


# ---------------------------------------------------------------------------------------------- checks
def check_database(created: list[dict[str, Any]]) -> dict[str, Any]:
    """Every successful submit made exactly one application (and nothing else made one); each draft the
    submit phases posted holds the application the client was redirected to; submitting a draft again
    returns the same application (idempotent per draft, ``draft_submit`` on 20 of them)."""
    from django.db import connections

    from madoguchi.applications.models import Application
    from madoguchi.identity.models import PortalAccount
    from madoguchi.identity.selectors import identity_from_account
    from madoguchi.portal.models import Draft, PortalApplication
    from madoguchi.portal.services import draft_submit

    connections.close_all()
    ids = [c["id"] for c in created]
    in_db = Application.objects.filter(procedure__code=PROCEDURE).count()
    linked = PortalApplication.objects.count()
    drafts_submitted = Draft.objects.filter(application__isnull=False).count()
    drafts = Draft.objects.count()
    posted = {c["draft"]: c["id"] for c in created if c.get("draft")}
    held = dict(Draft.objects.filter(token__in=list(posted)).values_list("token", "application_id"))
    draft_match = sum(1 for t, i in posted.items() if held.get(uuid.UUID(t)) == i)
    again_ok = 0
    sample = list(posted.items())[:20]
    for token, app_id in sample:
        draft = Draft.objects.select_related("procedure").get(token=token)
        identity = identity_from_account(PortalAccount.objects.get(pk=int(draft.owner.split(":")[1])))
        again_ok += draft_submit(draft=draft, identity=identity, ip="127.0.0.1").pk == app_id
    in_db_after = Application.objects.filter(procedure__code=PROCEDURE).count()
    return {
        "submits_ok": len(ids),
        "distinct_ids": len(set(ids)),
        "applications_in_db": in_db,
        "portal_links": linked,
        "drafts": drafts,
        "drafts_submitted": drafts_submitted,
        "submit_phase_posts": len(posted),
        "submit_phase_drafts_match": draft_match,
        "resubmitted": len(sample),
        "resubmit_same": again_ok,
        "ok": len(ids) == len(set(ids)) == in_db == linked == drafts_submitted == in_db_after
        and Application.objects.filter(pk__in=ids).count() == len(ids)
        and draft_match == len(posted) and again_ok == len(sample),
    }


# ---------------------------------------------------------------------------------------------- profile
def profile_submit(config: dict[str, Any], count: int) -> dict[str, Any]:
    """cProfile of the submit POST only, through Django's test client (same settings, same database)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    for handler in logging.getLogger().handlers + logging.getLogger("madoguchi.audit").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))
    accounts = config["profile_accounts"][:count]
    profiler = cProfile.Profile()
    times: list[float] = []
    queries: list[int] = []
    whole: list[float] = []
    sql: list[tuple[str, float]] = []
    for k, account in enumerate(accounts):
        client = Client(REMOTE_ADDR=account["ip"])
        client.cookies[config["session_cookie"]] = account["session"]
        t0 = time.perf_counter()
        r = client.post(f"/procedures/{PROCEDURE}/apply/")
        step = r["Location"]
        for fields in STEPS:
            r = client.post(step, {**fields, "action": "next"})
            step = r["Location"]
        review = step
        submit = review.replace("/review/", "/submit/")
        with CaptureQueriesContext(connection) as ctx:
            if k >= 5:  # warm-up: the first few are not profiled
                profiler.enable()
            t1 = time.perf_counter()
            r = client.post(submit)
            elapsed = time.perf_counter() - t1
            if k >= 5:
                profiler.disable()
        whole.append(time.perf_counter() - t0)
        if "/my/applications/" not in r.get("Location", ""):
            raise RuntimeError(f"profile submit failed: {r.status_code} {r.get('Location')}")
        if k >= 5:
            times.append(elapsed * 1000)
            queries.append(len(ctx.captured_queries))
            sql = [(q["sql"], float(q["time"])) for q in ctx.captured_queries]
    stream = io.StringIO()
    stream.write("  SQL of the last profiled submit, in order:\n")
    for text, _seconds in sql:
        stream.write(f"  {' '.join(text.split())[:150]}\n")
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(r"madoguchi|django/(db|core/handlers|template|contrib/sessions)", 40)
    stats.sort_stats("tottime").print_stats(20)
    return {
        "submits": len(times),
        "submit_ms_p50": percentile(times, 50),
        "submit_ms_p95": percentile(times, 95),
        "queries_per_submit": sorted(queries)[len(queries) // 2] if queries else 0,
        "text": stream.getvalue(),
    }


# ---------------------------------------------------------------------------------------------- main
def main() -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=int, default=60, help="seconds per phase (hello, submit, status)")
    parser.add_argument("--healthz-duration", type=int, default=30, help="info phase GET /healthz; 0 skips it")
    parser.add_argument("--journey-duration", type=int, default=60,
                        help="info phase: whole journeys (9 requests each); 0 skips it (the status phase then "
                             "uses the saturated submit phase's applications)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="> 0: also run submit and status with each user waiting between(think/2, 1.5×think) "
                             "seconds between requests (a realistic resident); 0 = closed loop only")
    parser.add_argument("--submit-drafts", type=int, default=0,
                        help="complete drafts made per user for the saturated submit phase (0 = max(30, 2×duration))")
    parser.add_argument("--quiet-wait", type=int, default=1200,
                        help="seconds to wait at most for other benchmark/test runs (pgrep -f 'pittari_import|pytest')"
                             " to end before starting; 0 = do not wait")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds left out at the start of each phase")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="seconds to start all users (staggered, so journeys do not run in lockstep waves)")
    parser.add_argument("--workers", type=int, default=0,
                        help="0 = the production setup's (madoguchi.gunicorn_conf: 2 × cores + 1)")
    parser.add_argument("--threads", type=int, default=0,
                        help="0 = the production setup's (sync workers); > 1 = gthread with that many threads")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hello-path", default="/i18n/setlang/")
    parser.add_argument("--database", default="madoguchi_portal_bench", help="scratch database (reused servers)")
    parser.add_argument("--profile", action="store_true", help="profile the submit even if the goal is met")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--profile-count", type=int, default=105)
    parser.add_argument("--keep-tmp", action="store_true", help="keep logs (access log, locust output)")
    args = parser.parse_args()

    cleanup = Cleanup()
    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also when started in the background (SIGINT inherited as ignored)
    tmp = Path(tempfile.mkdtemp(prefix="mdg-portal-bench."))
    if not args.keep_tmp:
        cleanup.add("tmp", lambda: shutil.rmtree(tmp, ignore_errors=True))
    try:
        return run(args, cleanup, tmp, cores)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping servers", file=sys.stderr)
        return 130
    finally:
        cleanup.run()
        if args.keep_tmp:
            print(f"logs kept in {tmp}")


def run(args: argparse.Namespace, cleanup: Cleanup, tmp: Path, cores: int) -> int:
    from cryptography.fernet import Fernet

    wait_until_quiet(args.quiet_wait)
    load_at_start = os.getloadavg()
    services = start_services(cleanup, tmp)
    bench_url = bench_database(cleanup, services, args.database)
    data_dir = tmp / "data"
    data_dir.mkdir()
    server_env = {
        "MADOGUCHI_ENV": "production",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "MADOGUCHI_FIELD_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": bench_url,
        "REDIS_URL": services["REDIS_URL"],
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
    }
    os.environ.update(server_env)
    pg_pid = None
    if services["started"]:
        pid_file = Path(services["started"]) / "pg" / "postmaster.pid"
        try:
            pg_pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pg_pid = None

    accounts_per_user = max(2, math.ceil(args.duration * 3 / SUBMITS_PER_ACCOUNT) + 1)
    submit_drafts = args.submit_drafts or max(30, 2 * args.duration)
    submit_accounts = {"submit": math.ceil(submit_drafts / SUBMITS_PER_ACCOUNT)}
    if args.think > 0:  # at most one submit per think/2 seconds per user, plus the ramp
        submit_accounts["submit_think"] = math.ceil((args.duration / (args.think / 2) + 2) / SUBMITS_PER_ACCOUNT)
    hello_ips = [f"127.200.{u // 254}.{u % 254 + 1}" for u in range(args.users)]
    t0 = time.perf_counter()
    config = build(args, args.users, accounts_per_user, hello_ips, submit_accounts)
    print(f"setup: migrate + collectstatic + catalog + "
          f"{args.users * (accounts_per_user + sum(submit_accounts.values())) + args.profile_count} "
          f"accounts/sessions + drafts in {time.perf_counter() - t0:.1f} s")
    config_path = tmp / "config.json"

    gunicorn, host = start_gunicorn(args, {**os.environ, **server_env}, tmp, cleanup)
    print(f"setup: CSRF cookie + token of each submit account from its review page (before the phases) in "
          f"{fetch_csrf(host, config):.1f} s")
    config_path.write_text(json.dumps(config))
    import madoguchi
    from madoguchi import gunicorn_conf

    args.workers = args.workers or gunicorn_conf.workers  # what gunicorn runs with, for the figures
    args.threads = args.threads or gunicorn_conf.threads
    kind = "sync" if args.threads == 1 else f"gthread ×{args.threads}"
    print(f"code: madoguchi from {Path(madoguchi.__file__).parent}")
    print(f"server: gunicorn -c python:madoguchi.gunicorn_conf madoguchi.wsgi (the production setup), {args.workers} "
          f"{kind} workers, {host}, MADOGUCHI_ENV=production, "
          f"DEBUG off; PostgreSQL + Redis on loopback ({'started here' if services['started'] else 'reused'})")
    think_text = (f"; phases marked @think: wait between({args.think / 2:g}, {args.think * 1.5:g}) s between "
                  "requests" if args.think > 0 else "")
    print(f"client: one locust process (gevent, FastHttpUser), {args.users} users, closed loop without wait time"
          f"{think_text}; {cores} cores shared by client and server; load average before setup "
          f"{load_at_start[0]:.2f}, before the phases {os.getloadavg()[0]:.2f}")

    phases: list[tuple[str, str, int, float]] = [
        ("hello", f"(a) hello-world ceiling: GET {args.hello_path}", args.duration, 0.0)]
    if args.healthz_duration > 0:
        phases.append(("healthz", "(info) GET /healthz (SELECT 1 + Redis set/get)", args.healthz_duration, 0.0))
    phases.append(("submit", f"(b) submit, saturated: POST /drafts/<token>/submit/ only, one complete draft per "
                   f"iteration ({PROCEDURE}), no wait", args.duration, 0.0))
    if args.think > 0:
        phases.append(("submit_think", f"(b') submit @think {args.think:g} s: POST /drafts/<token>/submit/, "
                       f"wait between({args.think / 2:g}, {args.think * 1.5:g}) s", args.duration, args.think))
    if args.journey_duration > 0:
        phases.append(("journey", "(info) whole journeys: apply → step 1 → step 2 → review → submit → detail "
                       "(9 requests), no wait", args.journey_duration, 0.0))
    results: dict[str, Any] = {}
    summaries: dict[str, Any] = {}

    def phase(name: str, title: str, duration: int, think: float) -> None:
        results[name] = run_phase(name, duration, args.users, host, config_path, tmp, gunicorn.pid, pg_pid,
                                  args.ramp, think)
        summaries[name] = summarize(results[name], args.warmup)
        print_phase(title, summaries[name], results[name]["cpu"])

    for name, title, duration, think in phases:
        phase(name, title, duration, think)
    # the status phases reuse the applications each user created (journey, else submit) with their accounts
    created: dict[str, list[tuple[dict[str, str], int]]] = {}
    for c in results.get("journey", results["submit"])["created"]:
        created.setdefault(str(c["slot"]), []).append(({"session": c["session"], "ip": c["ip"]}, c["id"]))
    config["created"] = created
    config_path.write_text(json.dumps(config))
    phase("status", "(c) status-check: GET /my/ and GET /my/applications/<id>/ alternately, no wait",
          args.duration, 0.0)
    if args.think > 0:
        phase("status_think", f"(c') status-check @think {args.think:g} s", args.duration, args.think)

    # ------------------------------------------------------------------ figures and checks
    def stats(name: str, request: str) -> dict[str, Any]:
        return summaries.get(name, {}).get("names", {}).get(request, {})

    nan = float("nan")
    hello = stats("hello", "hello")
    sub = stats("submit", "POST submit")
    sub_think = stats("submit_think", "POST submit")
    journey_sub = stats("journey", "POST submit")
    hello_rps = hello.get("rps", 0.0)
    submit_rps = sub.get("rps", 0.0)
    journeys_rps = summaries.get("journey", {}).get("journeys_per_s", 0.0)
    ratio = submit_rps / hello_rps if hello_rps else 0.0

    def status_of(name: str) -> tuple[float, float]:
        names = summaries.get(name, {}).get("names", {})
        return (sum(s["rps"] for s in names.values()),
                max((s["p99"] for s in names.values()), default=nan))

    status_rps, status_p99 = status_of("status")
    status_think_rps, status_think_p99 = status_of("status_think")
    all_statuses: Counter[str] = Counter()
    for s in summaries.values():
        all_statuses.update(s["statuses"])
    errors_5xx = sum(n for c, n in all_statuses.items() if c.startswith("5"))
    no_response = all_statuses.get("0", 0)
    failures = [f for r in results.values() for f in r.get("failures", [])]
    out_of_drafts = sum(r.get("out_of_drafts", 0) for r in results.values())
    db = check_database([c for r in results.values() for c in r.get("created", [])])
    p99_submit = sub.get("p99", nan)
    ratio_met = ratio >= GOAL_RATIO
    p99_met = p99_submit < GOAL_P99_MS and status_p99 < GOAL_P99_MS
    think_p99_met = (sub_think.get("p99", nan) < GOAL_P99_MS and status_think_p99 < GOAL_P99_MS) if args.think > 0 else None
    met = ratio_met and p99_met and db["ok"] and errors_5xx == 0

    def ok(flag: bool | None) -> str:
        return "ok" if flag else "NOT met"

    print("\n== figures")
    print(f"  hello-world ceiling:              {hello_rps:8.1f} req/s   (p99 {hello.get('p99', nan):.1f} ms)")
    print(f"  submit, saturated (POST only):    {submit_rps:8.1f} req/s   p50 {sub.get('p50', nan):.1f} / "
          f"p95 {sub.get('p95', nan):.1f} / p99 {p99_submit:.1f} ms")
    if args.think > 0:
        print(f"  submit @think {args.think:g} s (realistic):    {sub_think.get('rps', 0.0):8.1f} req/s   latency at "
              f"realistic think time: p50 {sub_think.get('p50', nan):.1f} / p95 {sub_think.get('p95', nan):.1f} / "
              f"p99 {sub_think.get('p99', nan):.1f} ms")
    if "journey" in summaries:
        print(f"  (info) whole journeys (9 req):    {journeys_rps:8.1f} /s      submit inside the journey: p99 "
              f"{journey_sub.get('p99', nan):.1f} ms; journey requests "
              f"{sum(s['rps'] for s in summaries['journey']['names'].values()):.1f} req/s")
    print(f"  status-check, saturated:          {status_rps:8.1f} req/s   p99 {status_p99:.1f} ms "
          + " ".join(f"[{n}: {s['rps']:.1f} req/s, p50 {s['p50']:.1f}, p99 {s['p99']:.1f} ms]"
                     for n, s in summaries["status"]["names"].items()))
    if args.think > 0:
        print(f"  status-check @think {args.think:g} s:           {status_think_rps:8.1f} req/s   p99 "
              f"{status_think_p99:.1f} ms")
    print(f"  ratio submit (saturated) / hello: {ratio:8.1%}   (goal ≥ {GOAL_RATIO:.0%}: {ok(ratio_met)})")
    print(f"  p99 < {GOAL_P99_MS:.0f} ms, SATURATED (no wait): submit {p99_submit:.1f} ms, status {status_p99:.1f} ms "
          f"→ {ok(p99_met)}")
    if args.think > 0:
        print(f"  p99 < {GOAL_P99_MS:.0f} ms, AT THINK TIME {args.think:g} s: submit {sub_think.get('p99', nan):.1f} ms, "
              f"status {status_think_p99:.1f} ms → {ok(think_p99_met)}")
    if out_of_drafts:
        print(f"  WARNING: {out_of_drafts} users ran out of drafts before the end of a phase: the submit rate is a "
              "lower bound; raise --submit-drafts")
    print(f"  applications: {db['submits_ok']} successful submits, {db['distinct_ids']} distinct ids, "
          f"{db['applications_in_db']} in the database, {db['portal_links']} portal links, "
          f"{db['drafts_submitted']} of {db['drafts']} drafts submitted; submit phases: "
          f"{db['submit_phase_drafts_match']} of {db['submit_phase_posts']} drafts hold the application the client "
          f"got; submitted again: {db['resubmit_same']} of {db['resubmitted']} return the same application "
          f"→ {'ok' if db['ok'] else 'MISMATCH'}")
    print(f"  responses: {dict(sorted(all_statuses.items()))}; 5xx: {errors_5xx}; no response: {no_response}")
    for f in failures[:10]:
        print(f"  client failure: {f}")

    profile = None
    if args.profile or (not met and not args.no_profile):
        print(f"\n== profile of POST …/submit/ (in-process, Django test client, {args.profile_count - 5} profiled)")
        profile = profile_submit(config, args.profile_count)
        print(f"  submit alone (one at a time, no bench load, profiler on): p50 {profile['submit_ms_p50']:.1f} ms, "
              f"p95 {profile['submit_ms_p95']:.1f} ms; SQL queries per submit: {profile['queries_per_submit']}")
        print(profile["text"])

    def cpu_per_request(name: str) -> float | None:
        if name not in results:
            return None
        n = sum(s["total"] for s in summaries[name]["names"].values())
        return round(results[name]["cpu"]["gunicorn"] * 1000 / n, 2) if n else None

    bench = {
        "bench": "portal_load",
        "users": args.users,
        "duration_s": args.duration,
        "think_s": args.think,
        "workers": args.workers,
        "threads": args.threads,
        "cores": cores,
        "load_avg_start": round(load_at_start[0], 2),
        "hello_path": args.hello_path,
        "hello_rps": round(hello_rps, 1),
        "healthz_rps": round(stats("healthz", "healthz").get("rps", 0.0), 1),
        "submit_rps": round(submit_rps, 2),
        "submit_p50_ms": round(sub.get("p50", nan), 1),
        "submit_p95_ms": round(sub.get("p95", nan), 1),
        "submit_p99_ms": round(p99_submit, 1),
        "submit_think_rps": round(sub_think.get("rps", 0.0), 2) if args.think > 0 else None,
        "submit_think_p50_ms": round(sub_think.get("p50", nan), 1) if args.think > 0 else None,
        "submit_think_p95_ms": round(sub_think.get("p95", nan), 1) if args.think > 0 else None,
        "submit_think_p99_ms": round(sub_think.get("p99", nan), 1) if args.think > 0 else None,
        "journeys_per_s": round(journeys_rps, 2),
        "journey_submit_p99_ms": round(journey_sub.get("p99", nan), 1),
        "status_rps": round(status_rps, 1),
        "status_p99_ms": round(status_p99, 1),
        "status_think_p99_ms": round(status_think_p99, 1) if args.think > 0 else None,
        "ratio_submit_hello": round(ratio, 4),
        "gunicorn_cpu_ms_per_request": {n: cpu_per_request(n) for n in results},
        "applications_ok": db["ok"],
        "applications": db["applications_in_db"],
        "errors_5xx": errors_5xx,
        "out_of_drafts": out_of_drafts,
        "cpu": {p: {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r["cpu"].items()}
                for p, r in results.items()},
        "profile_queries_per_submit": profile["queries_per_submit"] if profile else None,
        "goal_met": met,
    }
    print("BENCH_JSON " + json.dumps(bench, ensure_ascii=False))
    verdict = "MET" if met else "NOT MET"
    think_part = (f"; at think {args.think:g} s: p99 submit {sub_think.get('p99', nan):.0f} ms / status "
                  f"{status_think_p99:.0f} ms ({ok(think_p99_met)})" if args.think > 0 else "")
    print(f"SUMMARY: {verdict} — saturated submit {submit_rps:.1f}/s = {ratio:.1%} of hello-world {hello_rps:.0f}/s "
          f"(goal ≥ {GOAL_RATIO:.0%}); SATURATED p99 submit {p99_submit:.0f} ms / status {status_p99:.0f} ms (goal < "
          f"{GOAL_P99_MS:.0f} ms){think_part}; {db['applications_in_db']} applications "
          f"{'match' if db['ok'] else 'MISMATCH'}, 5xx {errors_5xx}; {args.users} users, {args.workers} workers, "
          f"client and server on the same {cores} cores")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
