"""Background work for 待たない窓口: the day-before reminder mails (beat: ``reception-reminders``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="madoguchi.reception.send_reminders", acks_late=True, time_limit=600)
def send_reminders() -> int:
    from madoguchi.reception.services import reservation_remind_due

    return reservation_remind_due()
