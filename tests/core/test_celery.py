"""Celery settings from STYLE.md, and every beat entry imports and binds to a registered task."""

from __future__ import annotations

from django.conf import settings

from madoguchi.celery import app


def test_reliability_settings() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    queues = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert queues == {"intake", "handoff", "ocr", "matching"}


def test_broker_follows_redis_url() -> None:
    if settings.REDIS_URL:
        assert app.conf.broker_url == settings.REDIS_URL and not app.conf.task_always_eager
    else:
        assert app.conf.task_always_eager


def test_every_beat_entry_binds() -> None:
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"beat entry {name} names unknown task {entry['task']}"
