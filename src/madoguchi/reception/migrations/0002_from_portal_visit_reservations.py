"""Move the portal's 来庁予約 (portal.VisitReservation) into reception.Reservation, under each
municipality's 住民異動 service (created with one counter when missing). Seats are kept."""

import secrets

from django.db import migrations

DEFAULT_SERVICE = {"code": "jumin", "name": "住民異動（転入・転出・転居）", "prefix": "住", "sort_order": 1}


def forward(apps, schema_editor):
    VisitReservation = apps.get_model("portal", "VisitReservation")
    Service = apps.get_model("reception", "Service")
    Counter = apps.get_model("reception", "Counter")
    Reservation = apps.get_model("reception", "Reservation")
    PortalApplication = apps.get_model("portal", "PortalApplication")
    services = {}
    used = set(Reservation.objects.values_list("number", flat=True))
    for old in VisitReservation.objects.order_by("pk").iterator():
        service = services.get(old.municipality_id)
        if service is None:
            service, created = Service.objects.get_or_create(
                municipality_id=old.municipality_id,
                code=DEFAULT_SERVICE["code"],
                defaults={k: v for k, v in DEFAULT_SERVICE.items() if k != "code"},
            )
            if created:
                counter, _ = Counter.objects.get_or_create(
                    municipality_id=old.municipality_id, number=1, defaults={"name": "1番窓口"}
                )
                counter.services.add(service)
            services[old.municipality_id] = service
        number = f"{secrets.randbelow(90_000_000) + 10_000_000}"
        while number in used:
            number = f"{secrets.randbelow(90_000_000) + 10_000_000}"
        used.add(number)
        link = PortalApplication.objects.filter(application_id=old.application_id).first()
        new = Reservation.objects.create(
            municipality_id=old.municipality_id,
            service=service,
            number=number,
            day=old.day,
            start=old.start,
            seat=old.seat,
            purpose=old.purpose,
            email=link.email if link else "",
            owner=link.owner if link else "",
            application_id=old.application_id,
            status=old.status,
        )
        Reservation.objects.filter(pk=new.pk).update(created_at=old.created_at)


class Migration(migrations.Migration):
    dependencies = [
        ("reception", "0001_initial"),
        ("portal", "0002_messages_documents"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
