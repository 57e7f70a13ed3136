"""DX推進: KPI aggregates refreshed from live data, KPIs with targets (PDCA), and the OODA log.

The aggregates (``ProcedureMonth``, ``CounterMonth``) hold counts only — never a resident — and are
rebuilt by ``services.kpi_refresh`` from the applications, their status history, the reception tickets
and the hand-off jobs. Pages read only these tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import Department, Procedure
from madoguchi.core.models import Municipality


class BusinessDay(models.Model):
    """A calendar for set-based 開庁日 arithmetic: ``ordinal`` = office days up to and including ``day``
    (土日・祝日・12/29–1/3 and the municipality's closed days excluded), so the office days between
    two dates are ``ordinal(end) − ordinal(start)`` — the same as ``business_days_between``."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    ordinal = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["municipality", "day"], name="dx_businessday_unique")]

    def __str__(self) -> str:
        return f"{self.day} ({self.ordinal})"


class ProcedureMonth(models.Model):
    """One procedure's applications received in one month (by 受付日), and what became of them."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="the first day of the month")
    submitted = models.PositiveIntegerField(default=0)
    online = models.PositiveIntegerField(default=0)  # オンライン (portal)
    pittari = models.PositiveIntegerField(default=0)  # ぴったりサービス
    counter = models.PositiveIntegerField(default=0)
    paper = models.PositiveIntegerField(default=0)
    finished = models.PositiveIntegerField(default=0)  # reached a terminal status
    with_deadline = models.PositiveIntegerField(default=0)  # finished and had a 処理期限
    on_time = models.PositiveIntegerField(default=0)  # finished on or before the 処理期限
    corrected = models.PositiveIntegerField(default=0)  # at least one 補正依頼
    withdrawn = models.PositiveIntegerField(default=0)
    median_days = models.FloatField(null=True)  # 開庁日 from 受付 to the terminal status (finished only)
    handoff_jobs = models.PositiveIntegerField(default=0)
    handoff_failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["municipality", "procedure", "month"], name="dx_procmonth_unique")
        ]
        indexes = [models.Index(fields=["municipality", "month"], name="dx_procmonth_month")]

    def __str__(self) -> str:
        return f"{self.procedure_id} {self.month:%Y-%m}"


class CounterMonth(models.Model):
    """待たない窓口: tickets of one reception service in one month, with median wait and service minutes."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    service_name = models.CharField(max_length=60)
    month = models.DateField()
    tickets = models.PositiveIntegerField(default=0)
    served = models.PositiveIntegerField(default=0)
    median_wait_min = models.FloatField(null=True)
    median_service_min = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "service_name", "month"], name="dx_countermonth_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_name} {self.month:%Y-%m}"


class RefreshRun(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    seconds = models.FloatField()
    rows = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.rows}"


class Measure(models.TextChoices):
    ONLINE_RATE = "online_rate", _("オンライン申請率")
    MEDIAN_DAYS = "median_days", _("処理日数（中央値・開庁日）")
    ON_TIME_RATE = "on_time_rate", _("標準処理期間内の処理率")
    CORRECTION_RATE = "correction_rate", _("補正率")
    WITHDRAWAL_RATE = "withdrawal_rate", _("取下げ率")
    COUNTER_WAIT = "counter_wait", _("窓口の待ち時間（中央値・分）")
    HANDOFF_FAILURE_RATE = "handoff_failure_rate", _("基幹連携の失敗率")
    MANUAL = "manual", _("手入力")


class Kpi(models.Model):
    """A KPI with its target and period (Plan). Measured ones are computed from the aggregates; a
    ``manual`` one is entered month by month. An Act decision may start the next cycle (``previous``)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("KPI名"), max_length=120)
    measure = models.CharField(_("指標"), max_length=30, choices=Measure.choices)
    procedure = models.ForeignKey(
        Procedure, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("手続")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("担当課"),
    )
    unit = models.CharField(_("単位"), max_length=20, default="%")
    target = models.FloatField(_("目標値"))
    baseline = models.FloatField(_("基準値"), null=True, blank=True)
    higher_is_better = models.BooleanField(_("大きいほど良い"), default=True)
    period_start = models.DateField(_("期間の開始"))
    period_end = models.DateField(_("期間の終了"))
    owner = models.CharField(_("責任者"), max_length=60, blank=True)
    previous = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="next_cycles"
    )
    # Do: the 工程表 projects that work towards this KPI
    projects = models.ManyToManyField(
        "dxplan.Project", blank=True, related_name="kpis", verbose_name=_("関連する取組")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["period_start", "pk"]

    def __str__(self) -> str:
        return self.name


class KpiManualValue(models.Model):
    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="manual_values")
    month = models.DateField()
    value = models.FloatField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kpi", "month"], name="dx_kpimanual_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.value}"


class ActionStatus(models.TextChoices):
    PLANNED = "planned", _("予定")
    DOING = "doing", _("実施中")
    DONE = "done", _("完了")
    DROPPED = "dropped", _("中止")


class KpiAction(models.Model):
    """Do: a project or action linked to the KPI."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(_("取組"), max_length=200)
    owner = models.CharField(_("担当"), max_length=60, blank=True)
    due = models.DateField(_("期限"), null=True, blank=True)
    status = models.CharField(
        _("状況"), max_length=10, choices=ActionStatus.choices, default=ActionStatus.PLANNED
    )

    def __str__(self) -> str:
        return self.title


class KpiDecision(models.Model):
    """Act: what was decided after the Check, by whom and when; it may open the next Plan."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="decisions")
    decided_on = models.DateField(_("決定日"))
    decision = models.TextField(_("決定内容"))
    decided_by = models.CharField(_("決定者"), max_length=60, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    next_kpi = models.ForeignKey(Kpi, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"{self.decided_on} {self.decision[:30]}"


class OodaEntry(models.Model):
    """A quick decision (OODA: Observe, Orient, Decide, Act) for an issue that cannot wait for a cycle."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    noted_on = models.DateField(_("日付"))
    observe = models.TextField(_("観察（何が起きているか）"))
    orient = models.TextField(_("状況判断"), blank=True)
    decide = models.TextField(_("決定"), blank=True)
    act = models.TextField(_("実行"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-noted_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.noted_on} {self.observe[:30]}"


class DatasetKind(models.TextChoices):
    APPLICATION_STATS = "application_stats", _("手続別・月別の申請件数とオンライン申請率")
    KPI_VALUES = "kpi_values", _("KPI の目標と実績")
    COUNTER_STATS = "counter_stats", _("窓口の発券数と待ち時間")
    NURSERY_FACILITIES = "nursery_facilities", _("保育所等の一覧と募集人数")


class Dataset(models.Model):
    """オープンデータ: a dataset the DX推進課 chose to publish (built from the aggregates when served:
    counts only, small counts suppressed)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("種類"), max_length=30, choices=DatasetKind.choices)
    title = models.CharField(_("タイトル"), max_length=120)
    description = models.TextField(_("説明"), blank=True)
    published = models.BooleanField(_("公開中"), default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    license = models.CharField(_("ライセンス"), max_length=60, default="CC BY 4.0")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["municipality", "kind"], name="dx_dataset_unique")]

    def __str__(self) -> str:
        return self.title
