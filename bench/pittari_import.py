"""ぴったり互換パッケージの取込速度: packages/s of the full import (zip and XML checks, XML-DSig and
certificate chain + CRL, form validation, attachments, application + history + audit rows in
PostgreSQL) against the parse-only ceiling (unzip + XML parse, no DB) measured in the same run.

    .venv/bin/python bench/pittari_import.py --count 10000 --workers 2

Goal (issue 3): full import ≥ 50% of the parse-only ceiling. Prints figures, the ratio, one
``BENCH_JSON {...}`` line and a ``SUMMARY:`` verdict. Needs DATABASE_URL (PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path


def _setup(data_dir: str, trust: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    os.environ["MADOGUCHI_DATA_DIR"] = data_dir
    os.environ["MADOGUCHI_PITTARI_TRUST_DIR"] = trust
    import django

    django.setup()


def _worker(args: tuple[list[str], str, str, bool]) -> dict[str, int]:
    paths, data_dir, trust, one_by_one = args
    _setup(data_dir, trust)
    from madoguchi.intake.bulk import packages_import_paths
    from madoguchi.intake.services import ImportCache, package_import_path

    counts: dict[str, int] = {}
    cache = ImportCache()  # as the import command does: one per run
    if one_by_one:  # the per-package path (``madoguchi pittari import --one-by-one``)
        results = (package_import_path(path=p, cache=cache) for p in paths)
    else:  # what ``madoguchi pittari import`` runs by default: the batch importer (intake.bulk)
        results = packages_import_paths(paths=paths, cache=cache)
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--signers", type=int, default=50)
    parser.add_argument("--keep", default=None, help="folder to keep the generated packages in")
    parser.add_argument("--one-by-one", action="store_true", help="measure the per-package path instead")
    opts = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must point to PostgreSQL (see bench/README.md)")
    work = Path(opts.keep or tempfile.mkdtemp(prefix="mdg-pittari-bench-"))
    data_dir, trust = str(work / "data"), str(work / "ca")
    _setup(data_dir, trust)
    from django.core.management import call_command
    from django.db import connections

    from madoguchi.demo.services import demo_load
    from madoguchi.intake.formats import format_get
    from madoguchi.intake.pki import LocalCA
    from madoguchi.intake.samples import samples_make

    call_command("migrate", verbosity=0)
    municipality = demo_load(applications=0).municipality
    ca = LocalCA(Path(trust)) if (Path(trust) / "root.pem").exists() else LocalCA.create(Path(trust))
    seed = int(time.time())
    t0 = time.perf_counter()
    summary = samples_make(municipality=municipality, ca=ca, out=work / f"in-{seed}", count=opts.count,
                           seed=seed, signers=opts.signers)
    generate_s = time.perf_counter() - t0
    paths = [str(p) for p in summary.written]
    contents = [Path(p).read_bytes() for p in paths]
    total_bytes = sum(map(len, contents))

    fmt = format_get()
    t0 = time.perf_counter()
    for content in contents:
        fmt.parse_only(content)  # type: ignore[attr-defined]
    parse_s = time.perf_counter() - t0
    ceiling = len(paths) / parse_s

    connections.close_all()
    chunks = [(paths[i :: opts.workers], data_dir, trust, opts.one_by_one) for i in range(opts.workers)]
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(opts.workers) as pool:
        results = pool.map(_worker, chunks)
    import_s = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for r in results:
        for k, v in r.items():
            counts[k] = counts.get(k, 0) + v
    rate = len(paths) / import_s
    ratio = rate / ceiling
    print(f"packages: {len(paths)} ({total_bytes / len(paths) / 1024:.1f} KiB avg), generated in {generate_s:.1f} s")
    print(f"parse-only ceiling (1 process, unzip + XML parse, no DB): {ceiling:,.0f} packages/s")
    path = "one by one" if opts.one_by_one else "batch importer"
    print(f"full import ({opts.workers} worker processes, {path}, PostgreSQL): {rate:,.1f} packages/s  {counts}")
    print(f"ratio full/ceiling: {ratio:.1%} (goal ≥ 50%)")
    print("BENCH_JSON " + json.dumps({
        "bench": "pittari_import", "count": len(paths), "workers": opts.workers, "one_by_one": opts.one_by_one,
        "ceiling_pps": round(ceiling, 1),
        "import_pps": round(rate, 1), "ratio": round(ratio, 4), "outcomes": counts,
    }))
    verdict = "MET" if ratio >= 0.5 and counts.get("accepted") == len(paths) else "NOT MET"
    print(f"SUMMARY: {verdict} — full import {rate:,.1f}/s vs parse-only {ceiling:,.0f}/s ({ratio:.1%})")


if __name__ == "__main__":
    main()
