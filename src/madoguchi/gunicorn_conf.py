"""The production gunicorn setup, in one place: ``madoguchi serve`` and ``bench/portal_load.py`` both run
``gunicorn -c python:madoguchi.gunicorn_conf madoguchi.wsgi:application``.

* sync workers, ``2 × cores + 1`` (gunicorn's advice): the portal and the back office are CPU-bound
  Django (templates, ORM, form validation) next to PostgreSQL; one request per process keeps tail
  latency even under load, where threads of one process wait for the GIL. Slow clients are the
  reverse proxy's job (TLS ends there and it buffers requests and responses), so a sync worker is never
  held by a slow phone. ``WEB_CONCURRENCY`` overrides the count; ``MADOGUCHI_THREADS`` > 1 switches to
  gthread workers with that many threads (a host where requests mostly wait on other services).
* the access log goes to stdout, path only: query strings (a searched name) and referers never reach it.
"""

from __future__ import annotations

import os

cores = os.cpu_count() or 1

bind = os.environ.get("MADOGUCHI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "0") or 0) or 2 * cores + 1
threads = max(1, int(os.environ.get("MADOGUCHI_THREADS", "1") or 1))
worker_class = "gthread" if threads > 1 else "sync"
backlog = 2048
timeout = 120  # a PDF 控え or a bulk export may take seconds; a stuck worker is still replaced
graceful_timeout = 30
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
