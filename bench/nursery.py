"""保育所利用調整 (issue 6): our ``exact`` solver against ChilmAI on the same ChilmAI-layout files.

    .venv/bin/python bench/nursery.py --sizes 600,1600,9000 [--repeat 3] [--chilmai-max 9000]

Per size: generate an instance (Mallows-like similar priorities, ~8 % sibling households across the 7
patterns, ~10 % transfers, 3–10 wishes; priorities folded into unique 点数1…N so both solvers see the
same order), write it in ChilmAI's layout, run ``madoguchi nursery match --solver exact`` in process
(``call_command``: CSV read, solve, verify, result CSV) and ChilmAI's ``MatchingService.match`` in
its own venv (``var/bench-chilmai-venv``, created with ``pip install chilmai`` when missing; never in
our venv) in a subprocess. Every result, ChilmAI's too, goes through our verifier.

Seconds are wall seconds after interpreter start-up (ours: the command; ChilmAI: its ``match`` call,
file bytes in); CPU seconds (all threads, ChilmAI's whole subprocess) are printed too, since the
machine may be shared. Prints a table, the speed ratio, one ``BENCH_JSON {...}`` line and a ``SUMMARY:``
verdict against the goal (≥ 10× faster than ChilmAI at 1,600 and 9,000 with as many or more placed
and 0 blocking coalitions; 100,000 children in < 5 min). Slowness never makes the exit code nonzero.
No database is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHILMAI_VENV = ROOT / "var" / "bench-chilmai-venv"
CHILMAI_VERSION = "chilmai==0.2.2"
DRIVER = """
import json, sys, time
from chilmai.generic.config import DEFAULT_CONFIG
from chilmai.generic.service import MatchingService
children, facilities, out, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
started = time.perf_counter()
result = {"assignment": None, "error": None}
try:
    matched = MatchingService().match(
        children_file_bytes=open(children, "rb").read(), children_file_format="csv",
        daycares_file_bytes=open(facilities, "rb").read(), daycares_file_format="csv",
        mapping=DEFAULT_CONFIG, solver_config={"max_time_seconds": limit},
    )
    result["assignment"] = {
        str(k): (None if v is None else str(v)) for k, v in matched["matching_result_dict"].items()
    }
except Exception as exc:
    result["error"] = type(exc).__name__ + ": " + str(exc)[:200]
result["seconds"] = time.perf_counter() - started
json.dump(result, open(out, "w", encoding="utf-8"), ensure_ascii=False)
"""


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    import django

    django.setup()


def chilmai_python(*, install: bool) -> Path | None:
    """ChilmAI's interpreter in its own venv (created and filled with ``pip install chilmai``)."""
    python = CHILMAI_VENV / "bin" / "python"
    if not python.exists() and install:
        subprocess.run([sys.executable, "-m", "venv", str(CHILMAI_VENV)], check=True)
    if python.exists():
        probe = subprocess.run([str(python), "-c", "import chilmai"], capture_output=True)
        if probe.returncode != 0 and install:
            subprocess.run([str(python), "-m", "pip", "install", "-q", CHILMAI_VERSION], check=False)
            probe = subprocess.run([str(python), "-c", "import chilmai"], capture_output=True)
        if probe.returncode == 0:
            (CHILMAI_VENV / "madoguchi_driver.py").write_text(DRIVER, encoding="utf-8")
            return python
    return None


def facilities_for(children: int) -> int:
    """About 23 children per facility (Saitama: ~9,000 applicants, ~390 facilities)."""
    return max(10, round(children / 23))


def write_instance(children: int, seed: int, folder: Path) -> dict[str, Any]:
    from madoguchi.nursery import io
    from madoguchi.nursery.generate import generate_instance

    folder.mkdir(parents=True, exist_ok=True)
    instance = generate_instance(
        children=children, facilities=facilities_for(children), seed=seed, folded=True
    )
    io.write_children_csv(instance, folder / "children.csv")
    io.write_facilities_csv(instance, folder / "facilities.csv")
    return {
        "facilities": len(instance.facilities),
        "families": sum(1 for u in instance.units if u.is_family),
        "transfers": sum(1 for c in instance.children if c.current),
        "seats": sum(sum(f.capacity) for f in instance.facilities),
    }


def run_ours(folder: Path, time_limit: float) -> dict[str, Any]:
    from django.core.management import call_command

    started, cpu = time.perf_counter(), time.process_time()
    call_command(
        "nursery",
        "match",
        "--children",
        str(folder / "children.csv"),
        "--facilities",
        str(folder / "facilities.csv"),
        "--solver",
        "exact",
        "--time-limit",
        str(time_limit),
        "--out",
        str(folder / "result-exact.csv"),
        "--summary",
        str(folder / "summary-exact.json"),
        stdout=StringIO(),
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    summary = json.loads((folder / "summary-exact.json").read_text(encoding="utf-8"))
    return {
        "seconds": wall,
        "cpu_seconds": cpu,
        "solve_seconds": summary["seconds"],
        "placed": summary["placed"],
        "blocking_syy": summary["verifier"]["blocking_syy"],
        "blocking_abh": summary["verifier"]["blocking_abh"],
        "violations": sum(summary["verifier"][k] for k in ("capacity", "wish", "transfer", "sibling")),
        "status": summary["status"],
    }


def run_chilmai(python: Path, folder: Path, time_limit: float, wall_limit: float) -> dict[str, Any]:
    from madoguchi.nursery import io
    from madoguchi.nursery.verify import verify

    out = folder / "chilmai.json"
    out.unlink(missing_ok=True)
    args = [str(folder / "children.csv"), str(folder / "facilities.csv"), str(out), str(time_limit)]
    started, cpu = time.perf_counter(), _children_cpu()
    try:
        subprocess.run(
            [str(python), str(CHILMAI_VENV / "madoguchi_driver.py"), *args], check=False, timeout=wall_limit
        )
    except subprocess.TimeoutExpired:  # run() has killed it
        return {
            "error": f"{wall_limit:.0f} 秒で打ち切り",
            "seconds": wall_limit,
            "wall": wall_limit,
            "timeout": True,
        }
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if not out.exists():
        return {"error": "ChilmAI が結果を書きませんでした", "wall": wall}
    data = json.loads(out.read_text(encoding="utf-8"))
    if data["assignment"] is None:
        return {"error": data["error"], "seconds": data["seconds"], "wall": wall}
    instance = io.read_instance(folder / "children.csv", folder / "facilities.csv")
    assignment = {c.id: data["assignment"].get(c.id) for c in instance.children}
    report = verify(instance, assignment).summary()
    return {
        "seconds": data["seconds"],
        "wall": wall,
        "cpu_seconds": cpu,
        "placed": sum(1 for d in assignment.values() if d is not None),
        "blocking_syy": report["blocking_syy"],
        "blocking_abh": report["blocking_abh"],
        "violations": sum(report[k] for k in ("capacity", "wish", "transfer", "sibling")),
    }


def _children_cpu() -> float:
    """User + system seconds of finished child processes (ChilmAI's CP-SAT threads included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="600,1600,9000", help="children per instance, comma separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per solver and size (medians)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="our exact solver's limit (s)")
    parser.add_argument("--chilmai-max", type=int, default=9000, help="largest size given to ChilmAI")
    parser.add_argument("--chilmai-time-limit", type=float, default=360.0, help="ChilmAI max_time_seconds")
    parser.add_argument(
        "--chilmai-wall-limit", type=float, default=1800.0, help="kill ChilmAI after this many seconds"
    )
    parser.add_argument("--no-chilmai", action="store_true")
    parser.add_argument("--no-install", action="store_true", help="do not create ChilmAI's venv")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench-nursery")
    opts = parser.parse_args()
    _setup()
    python = None if opts.no_chilmai else chilmai_python(install=not opts.no_install)
    if python is None and not opts.no_chilmai:
        print("ChilmAI が使えません（var/bench-chilmai-venv）。当方の解法のみ測ります。")
    sizes = [int(s.replace("_", "")) for s in opts.sizes.split(",") if s.strip()]
    rows: list[dict[str, Any]] = []
    header = (
        f"{'children':>8} {'fac':>5} {'fam':>5} {'trans':>5} | {'ours placed':>11} {'BC':>3} {'status':>9} "
        f"{'ours s':>8} | {'ChilmAI placed':>14} {'BC':>3} {'ChilmAI s':>9} | {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for n in sizes:
        folder = opts.out / str(n)
        shape = write_instance(n, opts.seed, folder)
        ours = [run_ours(folder, opts.time_limit) for _ in range(opts.repeat)]
        theirs: list[dict[str, Any]] = []
        if python is not None and n <= opts.chilmai_max:
            theirs = [
                run_chilmai(python, folder, opts.chilmai_time_limit, opts.chilmai_wall_limit)
                for _ in range(opts.repeat)
            ]
        row: dict[str, Any] = {
            "children": n,
            **shape,
            "ours": ours[-1] | {"seconds": _median(ours, "seconds")},
        }
        row["ours"]["runs"] = [round(r["seconds"], 3) for r in ours]
        line = (
            f"{n:>8} {shape['facilities']:>5} {shape['families']:>5} {shape['transfers']:>5} | "
            f"{row['ours']['placed']:>11} {row['ours']['blocking_syy']:>3} {row['ours']['status']:>9} "
            f"{row['ours']['seconds']:>8.2f} | "
        )
        ok = [r for r in theirs if "error" not in r]
        if ok:
            row["chilmai"] = ok[-1] | {"seconds": _median(ok, "seconds")}
            row["chilmai"]["runs"] = [round(r["seconds"], 3) for r in ok]
            row["ratio"] = row["chilmai"]["seconds"] / row["ours"]["seconds"]
            line += (
                f"{row['chilmai']['placed']:>14} {row['chilmai']['blocking_syy']:>3} "
                f"{row['chilmai']['seconds']:>9.2f} | {row['ratio']:>5.1f}×"
            )
        elif theirs:
            row["chilmai"] = theirs[-1]
            spent = theirs[-1].get("seconds", theirs[-1]["wall"])
            ratio = f">{spent / row['ours']['seconds']:.0f}×" if theirs[-1].get("timeout") else ""
            if ratio:
                row["ratio_lower_bound"] = spent / row["ours"]["seconds"]
            line += f"{'打ち切り' if ratio else 'error':>14} {'':>3} {spent:>9.2f} | {ratio:>6}"
            print(f"  ChilmAI: {theirs[-1]['error']}")
        else:
            line += f"{'-':>14} {'':>3} {'-':>9} | {'':>6}"
        print(line, flush=True)
        cpu_line = f"{'':>8}   CPU 秒: ours {_median(ours, 'cpu_seconds'):.2f}"
        if ok:
            cpu_line += f", ChilmAI {_median(ok, 'cpu_seconds'):.2f}"
            row["cpu_ratio"] = _median(ok, "cpu_seconds") / _median(ours, "cpu_seconds")
        print(cpu_line + f"  (ours wall runs {row['ours']['runs']})", flush=True)
        rows.append(row)

    verdicts = []
    for n in (1600, 9000):
        row = next((r for r in rows if r["children"] == n), None)
        if row is not None and "ratio_lower_bound" in row:
            verdicts.append(f"{n}: ChilmAI は打ち切り（>{row['ratio_lower_bound']:.0f}×）")
            continue
        if row is None or "ratio" not in row:
            verdicts.append(f"{n}: ChilmAI との比較なし")
            continue
        good = (
            row["ratio"] >= 10
            and row["ours"]["placed"] >= row["chilmai"]["placed"]
            and row["ours"]["blocking_syy"] == 0
        )
        verdicts.append(f"{n}: {row['ratio']:.1f}× {'達成' if good else '未達'}")
    big = next((r for r in rows if r["children"] == 100_000), None)
    if big is not None:
        verdicts.append(
            f"100000: {big['ours']['seconds']:.0f} 秒 {'達成' if big['ours']['seconds'] < 300 else '未達'}"
        )
    print("BENCH_JSON " + json.dumps({"bench": "nursery", "rows": rows}, ensure_ascii=False, default=str))
    print(
        "SUMMARY: 目標 ≥10×（1,600・9,000人, 内定数以上・ブロッキング提携 0）/ 10万人 < 5分: "
        + "; ".join(verdicts)
    )


if __name__ == "__main__":
    main()
