"""Mail to residents, sent by a worker after the transaction committed (never inside the request)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="madoguchi.portal.receipt_mail", acks_late=True, max_retries=3, default_retry_delay=60)
def receipt_mail(application_id: int, to: str) -> None:
    from madoguchi.applications.models import Application
    from madoguchi.portal.services import receipt_email

    application = Application.objects.select_related("municipality", "procedure").filter(pk=application_id).first()
    if application is not None:
        receipt_email(application=application, to=to)


@shared_task(name="madoguchi.portal.notice_mail", acks_late=True, max_retries=3, default_retry_delay=60)
def notice_mail(application_id: int, to: str, what: str) -> None:
    from madoguchi.applications.models import Application
    from madoguchi.portal.services import notice_email

    application = Application.objects.select_related("municipality").filter(pk=application_id).first()
    if application is not None:
        notice_email(application=application, to=to, what=what)
