"""Celery tasks of the hand-off outbox (queue ``handoff``, routed by the ``madoguchi.handoff.*`` name).
Thin: they take ids and call a service."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from madoguchi.handoff import services


@shared_task(name="madoguchi.handoff.build_batch")
def build_batch(batch_id: int) -> int:
    """Build one export file (方式2/方式4). A failure is recorded on the batch; the sweeper retries it."""
    batch = services.handoff_batch_build(batch_id=batch_id)
    return batch.rows


@shared_task(name="madoguchi.handoff.sweep")
def sweep(stuck_minutes: int = 30) -> dict[str, int]:
    result = services.handoff_sweep(stuck_after=timedelta(minutes=stuck_minutes))
    return {
        "requeued": result.requeued,
        "failed": result.failed,
        "batches_retried": len(result.batches_retried),
        "batches_failed": result.batches_failed,
        "enqueued": result.enqueued,
    }


@shared_task(name="madoguchi.handoff.enqueue")
def enqueue(application_id: int) -> int:
    from madoguchi.applications.models import Application
    from madoguchi.core.scope import Actor

    application = Application.objects.get(pk=application_id)
    return len(services.handoff_enqueue_for(application=application, actor=Actor.system("handoff")))
