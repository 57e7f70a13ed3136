"""待たない窓口: the counter's services (業務) and counters (窓口) as data per municipality, opening hours,
reservations (来庁予約, including the portal's 転入予約), numbered tickets (番号札) and fees taken at the
counter. Writes go through ``reception.services``; reads through ``reception.selectors``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.applications.models import Application
from madoguchi.core.models import Municipality


class Service(models.Model):
    """One 業務 residents come for (住民異動, 子育て, 介護, 国保 …), with its booking rules."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("コード"), max_length=30)
    name = models.CharField(_("業務名"), max_length=40)
    prefix = models.CharField(_("番号札の頭文字"), max_length=2, help_text=_("例: 住 → 住-012"))
    slot_minutes = models.PositiveSmallIntegerField(_("予約枠の長さ (分)"), default=30)
    capacity_per_slot = models.PositiveSmallIntegerField(_("1枠の定員"), default=3)
    booking_days = models.PositiveSmallIntegerField(_("予約できる日数 (先まで)"), default=30)
    default_minutes = models.PositiveSmallIntegerField(
        _("標準の対応時間 (分)"), default=10, help_text=_("実績が少ないときの待ち時間の見込みに使います。")
    )
    fee = models.PositiveIntegerField(_("窓口手数料の既定額 (円)"), default=0)
    bookable = models.BooleanField(_("オンライン予約を受け付ける"), default=True)
    active = models.BooleanField(_("有効"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        verbose_name = _("窓口の業務")
        verbose_name_plural = _("窓口の業務")
        ordering = ["municipality", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="reception_service_code_unique"),
            models.UniqueConstraint(
                fields=["municipality", "prefix"], name="reception_service_prefix_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Counter(models.Model):
    """A 窓口 (counter desk) and the services it serves."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField(_("窓口番号"))
    name = models.CharField(_("名称"), max_length=40, blank=True)
    services = models.ManyToManyField(Service, related_name="counters", verbose_name=_("扱う業務"))
    active = models.BooleanField(_("有効"), default=True)

    class Meta:
        verbose_name = _("窓口")
        verbose_name_plural = _("窓口")
        ordering = ["municipality", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "number"], name="reception_counter_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.number}番窓口"

    @property
    def label(self) -> str:
        return f"{self.number}番窓口"


class OpeningHours(models.Model):
    """When the counter is open on a weekday (0 = 月曜). A weekday without a row is closed; a
    municipality without any row uses 9:00–17:00 with 12:00–13:00 closed, 月〜金."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(
        _("曜日"), choices=[(0, "月"), (1, "火"), (2, "水"), (3, "木"), (4, "金"), (5, "土"), (6, "日")]
    )
    opens = models.TimeField(_("開始"))
    closes = models.TimeField(_("終了"))
    break_start = models.TimeField(_("休憩開始"), null=True, blank=True)
    break_end = models.TimeField(_("休憩終了"), null=True, blank=True)

    class Meta:
        verbose_name = _("受付時間")
        verbose_name_plural = _("受付時間")
        ordering = ["municipality", "weekday"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "weekday"], name="reception_hours_weekday_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class ReservationStatus(models.TextChoices):
    BOOKED = "booked", _("予約済み")
    CANCELLED = "cancelled", _("取消")
    VISITED = "visited", _("来庁済み")
    NO_SHOW = "no_show", _("来庁なし")


class Reservation(models.Model):
    """A visit slot for a service. The seat (1 … capacity) makes the capacity a database constraint."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="reservations")
    counter = models.ForeignKey(Counter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    number = models.CharField(_("予約番号"), max_length=8, unique=True)
    day = models.DateField(_("来庁日"))
    start = models.TimeField(_("開始時刻"))
    seat = models.PositiveSmallIntegerField()
    purpose = models.CharField(_("用件"), max_length=60, blank=True)
    name = models.CharField(_("氏名"), max_length=80, blank=True)
    email = models.CharField(_("連絡先メール"), max_length=254, blank=True)
    owner = models.CharField(_("予約した人"), max_length=80, blank=True, db_index=True)
    # the portal's 転入予約: the application the visit belongs to (staff see it on the application)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.BOOKED
    )
    reminded_at = models.DateTimeField(_("前日メール送信"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("来庁予約")
        verbose_name_plural = _("来庁予約")
        ordering = ["day", "start", "seat"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "day", "start", "seat"],
                condition=models.Q(status__in=["booked", "visited"]),
                name="reception_slot_seat_unique",
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(status="booked"),
                name="reception_one_booking_per_application",
            ),
        ]
        indexes = [models.Index(fields=["municipality", "day", "status"], name="reception_res_day_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.day} {self.start:%H:%M} {self.service_id}"


class TicketStatus(models.TextChoices):
    WAITING = "waiting", _("お待ち")
    CALLED = "called", _("呼出中")
    SERVING = "serving", _("対応中")
    DONE = "done", _("対応済み")
    NO_SHOW = "no_show", _("不在")
    TRANSFERRED = "transferred", _("別業務へ案内")


OPEN_TICKET_STATES = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING)


class Ticket(models.Model):
    """A numbered ticket (番号札) for one service on one day: 住-012 is the 12th 住民異動 ticket today."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tickets")
    day = models.DateField(_("日付"))
    seq = models.PositiveIntegerField(_("連番"))
    number = models.CharField(_("番号"), max_length=12)
    priority = models.BooleanField(_("優先"), default=False)
    reservation = models.OneToOneField(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="ticket"
    )
    transferred_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="transferred_to"
    )
    status = models.CharField(
        _("状態"), max_length=12, choices=TicketStatus.choices, default=TicketStatus.WAITING
    )
    counter = models.ForeignKey(
        Counter, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    handled_by = models.CharField(_("担当職員"), max_length=150, blank=True)
    recalls = models.PositiveSmallIntegerField(_("再呼出回数"), default=0)
    issued_at = models.DateTimeField(_("発券"))
    called_at = models.DateTimeField(_("呼出"), null=True, blank=True)
    started_at = models.DateTimeField(_("対応開始"), null=True, blank=True)
    finished_at = models.DateTimeField(_("対応終了"), null=True, blank=True)

    class Meta:
        verbose_name = _("番号札")
        verbose_name_plural = _("番号札")
        ordering = ["day", "service", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["service", "day", "seq"], name="reception_ticket_seq_unique"),
        ]
        indexes = [models.Index(fields=["municipality", "day", "status"], name="reception_ticket_day_idx")]

    def __str__(self) -> str:
        return f"{self.number} ({self.day})"


class CounterFee(models.Model):
    """A fee taken at the counter for a served ticket. ``payment`` is the ``payments.Payment`` (plugin
    ``counter``) when the fee belongs to an application; a fee without an application (住民票の写し …)
    is recorded here only."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="fees")
    amount = models.PositiveIntegerField(_("金額 (円)"))
    method = models.CharField(_("支払方法"), max_length=20, default="cash")
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("受領日時"))

    class Meta:
        verbose_name = _("窓口での手数料受領")
        verbose_name_plural = _("窓口での手数料受領")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.ticket.number} {self.amount}円"
