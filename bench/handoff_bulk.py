"""Benchmark: 方式4 一括取込 export of 1,000,000 applications against a raw PostgreSQL COPY TO STDOUT.

The issue: "1,000,000 applications exported by 方式4 against a raw PostgreSQL COPY (TO STDOUT) of the
same rows in the same run. Goal >= 50% of COPY speed, memory flat (peak RSS at 100k vs 1M)."

Steps (reusing bench/inbox.py's scratch database, world and COPY loader):
 1. a fresh database ``madoguchi_handoff_bench``, ``migrate``, the bench municipality and catalog;
    one procedure gets a form with name / birth_date / postal_code / address (what the loader fills);
 2. for each size (``--small`` then ``--rows``): that many applications of that procedure loaded with
    COPY, one hand-off job per application for a 方式4 target (INSERT ... SELECT), VACUUM ANALYZE;
 3. three exports, each in a fresh child process (so its peak RSS is its own):
      - ``copy``  — the baseline: ``COPY (SELECT <the same columns> ... ORDER BY job id) TO STDOUT
                    (FORMAT csv)`` written to a file, nothing else;
      - ``fixed`` — ``handoff_batch_request`` + ``handoff_batch_build``: claim the jobs, stream fixed-length
                    cp932 records (byte-accurate padding) with header and trailer (count + SHA-256), record
                    the batch's job id range (出力済 is derived from it), audit — the whole service, end to end;
      - ``csv``   — the same with the CSV layout (cp932);
 4. a table (seconds, rows/s, MB written, peak RSS per export and size), the ratio export/COPY speed,
    the RSS growth from the small to the full size, a ``BENCH_JSON {...}`` line and a verdict.

Run::

    dir=$(mktemp -d /tmp/mdg-bench.XXXX); eval "$(bash scripts/test-services.sh start $dir)"
    .venv/bin/python bench/handoff_bulk.py --rows 1000000 --small 100000
    bash scripts/test-services.sh stop $dir
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.inbox import (
    ProcedureInfo,
    World,
    _drop_database,
    _prepare_environment,
    build_world,
    load_applications,
)

GOAL_RATIO = 0.5
TARGET_CODE = "bench-bulk"
BENCH_FORM: dict[str, Any] = {
    "title": "ベンチ申請書",
    "sections": [
        {
            "id": "s",
            "title": "申請者",
            "fields": [
                {"id": "name", "type": "text", "label": "氏名", "required": True},
                {"id": "birth_date", "type": "date", "label": "生年月日"},
                {"id": "postal_code", "type": "postal_code", "label": "郵便番号"},
                {"id": "address", "type": "address", "label": "住所"},
            ],
        }
    ],
}


# ---------------------------------------------------------------------------------------------- child
def child(kind: str, out: str) -> None:
    """One export in this process; prints a JSON line with seconds, bytes and peak RSS."""
    import django

    django.setup()
    from django.db import connection
    from psycopg import sql

    from madoguchi.catalog.models import Procedure
    from madoguchi.core.scope import Actor
    from madoguchi.handoff import layout, services
    from madoguchi.handoff.models import HandoffJob, HandoffTarget

    target = HandoffTarget.objects.get(code=TARGET_CODE)
    procedure = target.procedures.get()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    rows = 0
    if kind == "copy":
        columns = layout.columns_for(procedure=Procedure.objects.get(pk=procedure.pk))
        tz = sql.Literal("Asia/Tokyo")
        exprs = [c.sql.format(tz) if c.name == "submitted_at" else c.sql for c in columns]  # type: ignore[union-attr]
        query = sql.SQL(
            "COPY (SELECT {} FROM handoff_handoffjob j JOIN applications_application a ON a.id = j.application_id "
            "JOIN catalog_procedure p ON p.id = a.procedure_id JOIN catalog_formversion fv ON fv.id = a.form_version_id "
            "JOIN catalog_statustype s ON s.id = a.status_id WHERE j.target_id = {} ORDER BY j.id) "
            "TO STDOUT (FORMAT csv)"
        ).format(sql.SQL(", ").join(exprs), sql.Literal(target.pk))
        with open(out, "wb") as fh, connection.cursor() as cursor:
            with cursor.cursor.copy(query) as copy:  # type: ignore[attr-defined]
                for chunk in copy:
                    fh.write(chunk)
        rows = HandoffJob.objects.filter(target=target).count()
    else:
        # phase split: the claim (high-water mark, re-sent jobs, count) ends when the COPY stream starts
        original = layout._copy_chunks

        def timed(*a: Any, **k: Any) -> Any:
            stream_started.append(time.perf_counter())
            return original(*a, **k)

        stream_started: list[float] = []
        layout._copy_chunks = timed  # type: ignore[assignment]
        target.layout = {"format": kind, "encoding": "cp932"}
        target.save(update_fields=["layout"])
        batch = services.handoff_batch_request(
            target=target,
            procedure=procedure,
            actor=Actor.system("bench"),
            include_exported=True,
            dispatch=False,
        )
        batch = services.handoff_batch_build(batch_id=batch.pk, out=out)
        rows = batch.rows
    seconds = time.perf_counter() - t0
    stream = seconds if kind == "copy" else time.perf_counter() - stream_started[0]
    print(
        "CHILD_JSON "
        + json.dumps(
            {
                "kind": kind,
                "rows": rows,
                "seconds": seconds,
                "stream_seconds": stream,
                "bytes": os.path.getsize(out),
                "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "rss_at_start_kb": rss_before,
            }
        ),
        flush=True,
    )


def run_child(kind: str, out: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--out", str(out)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("CHILD_JSON "):
            out.unlink(missing_ok=True)
            return dict(json.loads(line[len("CHILD_JSON ") :]))
    raise SystemExit(f"child {kind} failed:\n{proc.stdout}\n{proc.stderr}")


# ---------------------------------------------------------------------------------------------- parent
def setup_world() -> tuple[World, Any]:
    from madoguchi.catalog.models import FormVersion
    from madoguchi.handoff.models import HandoffTarget

    world = build_world()
    info = next(p for p in world.procedures if p.department_code == "kosodate")
    FormVersion.objects.filter(pk=info.form_version_id).update(definition=BENCH_FORM)
    one = ProcedureInfo(**{**info.__dict__, "weight": 1.0})
    world.procedures = [one]
    target = HandoffTarget.objects.create(
        municipality=world.municipality, code=TARGET_CODE, name="ベンチ基幹 (一括)", method="bulk",
        layout={"format": "fixed", "encoding": "cp932"},
    )  # fmt: skip
    target.procedures.add(info.id)
    return world, target


def load(world: World, target: Any, bench_url: str, n: int, seed: int) -> float:
    import psycopg

    t0 = time.perf_counter()
    load_applications(world, bench_url, n, seed, rebuild_indexes=n >= 100_000)
    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute("TRUNCATE handoff_handoffjob, handoff_handoffbatch CASCADE")
        # bench keys: md5-derived UUIDs (the service derives uuid5 keys; same shape and length)
        conn.execute(
            "INSERT INTO handoff_handoffjob (application_id, target_id, method, idempotency_key, state, attempts, "
            "last_error, requeued, created_at) SELECT id, %s, 'bulk', md5('bench/' || reception_number)::uuid::text, "
            "'pending', 0, '', false, now() FROM applications_application ORDER BY id",
            (target.pk,),
        )
        conn.execute("VACUUM (ANALYZE) handoff_handoffjob")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="the smaller size for the RSS comparison")
    parser.add_argument("--seed", type=int, default=20240401)
    parser.add_argument("--database", default="madoguchi_handoff_bench")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", choices=["copy", "fixed", "csv"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out)
        return 0

    original_url, bench_url, data_dir = _prepare_environment(args)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    results: dict[int, dict[str, dict[str, Any]]] = {}
    try:
        call_command("migrate", verbosity=0)
        server = connection.cursor().connection.info.parameter_status("server_version")
        print(f"handoff bulk benchmark — PostgreSQL {server}, {os.cpu_count()} CPUs")
        world, target = setup_world()
        connections.close_all()
        tmp = Path(tempfile.mkdtemp(prefix="mdg-handoff-bench."))
        for n in (args.small, args.rows):
            print(f"\n[{n:,} applications] loading …", flush=True)
            print(f"  loaded with jobs in {load(world, target, bench_url, n, args.seed):.1f} s", flush=True)
            results[n] = {}
            for kind in ("copy", "fixed", "csv"):
                r = run_child(kind, tmp / f"{kind}.out")
                results[n][kind] = r
                print(
                    f"  {kind:<5} {r['rows']:>9,} rows {r['seconds']:7.2f} s {r['rows'] / r['seconds']:>10,.0f} rows/s "
                    f"{r['bytes'] / 1e6:8.1f} MB  peak RSS {r['peak_rss_kb'] / 1024:6.1f} MB  "
                    f"(stream {r['stream_seconds']:.2f} s, claim+bookkeeping {r['seconds'] - r['stream_seconds']:.2f} s)",
                    flush=True,
                )
    finally:
        connections.close_all()
        if not args.keep:
            _drop_database(original_url, args.database)
        if data_dir:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)

    full, small = results[args.rows], results[args.small]
    summary: dict[str, Any] = {"rows": args.rows, "small": args.small}
    print("\nratio = export speed / COPY speed (same rows, same run); RSS growth = peak(full) / peak(small)")
    ok = True
    for kind in ("fixed", "csv"):
        ratio = full["copy"]["seconds"] / full[kind]["seconds"]
        stream_ratio = full["copy"]["seconds"] / full[kind]["stream_seconds"]
        growth = full[kind]["peak_rss_kb"] / small[kind]["peak_rss_kb"]
        ok &= ratio >= GOAL_RATIO and growth < 1.25
        summary[kind] = {"ratio": round(ratio, 3), "stream_ratio": round(stream_ratio, 3), "rss_growth": round(growth, 3),
                         "seconds": round(full[kind]["seconds"], 2),
                         "peak_rss_mb": round(full[kind]["peak_rss_kb"] / 1024, 1),
                         "peak_rss_small_mb": round(small[kind]["peak_rss_kb"] / 1024, 1)}  # fmt: skip
        print(
            f"  {kind:<5} ratio {ratio:.2f} end-to-end (goal >= {GOAL_RATIO}), {stream_ratio:.2f} stream only; peak RSS {small[kind]['peak_rss_kb'] / 1024:.1f} MB "
            f"at {args.small:,} → {full[kind]['peak_rss_kb'] / 1024:.1f} MB at {args.rows:,} (x{growth:.2f})"
        )
    summary["copy_seconds"] = round(full["copy"]["seconds"], 2)
    print("BENCH_JSON " + json.dumps(summary))
    print(
        "VERDICT "
        + ("PASS" if ok else "FAIL")
        + f": export >= {GOAL_RATIO:.0%} of COPY speed and flat memory"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
