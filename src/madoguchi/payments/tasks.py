"""Background work for payments: a checkout left open too long ends as 期限切れ."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="madoguchi.payments.expire_stale")
def expire_stale(minutes: int = 60) -> int:
    from datetime import timedelta

    from madoguchi.payments.services import payment_expire_stale

    return payment_expire_stale(older_than=timedelta(minutes=minutes))
