"""Demo KPIs for みどり市 (idempotent), then the aggregates refreshed from the demo applications."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.utils import timezone

from madoguchi.catalog.models import Procedure
from madoguchi.core.models import Municipality
from madoguchi.core.scope import staff_actor
from madoguchi.dx import services
from madoguchi.dx.models import Kpi, Measure
from madoguchi.dx.selectors import fiscal_year_of


def dx_demo_ensure(*, municipality: Municipality) -> None:
    user = get_user_model().objects.filter(username="dx").first()
    if user is not None and not Kpi.objects.filter(municipality=municipality).exists():
        actor = staff_actor(user, municipality=municipality)
        fy = fiscal_year_of(timezone.localdate())
        start, end = date(fy, 4, 1), date(fy + 1, 3, 31)
        jidoteate = Procedure.objects.filter(
            municipality=municipality, code="kosodate-jidoteate-nintei"
        ).first()
        kpi = services.kpi_create(
            actor=actor,
            name="児童手当 認定請求のオンライン申請率を50%に",
            measure=Measure.ONLINE_RATE,
            target=50,
            baseline=20,
            period_start=start,
            period_end=end,
            procedure_id=jidoteate.pk if jidoteate else None,
            owner="子育て支援課長",
        )
        services.kpi_action_add(
            actor=actor, kpi=kpi, title="出生届の窓口で電子申請の案内カードを配る", owner="市民課"
        )
        services.kpi_create(
            actor=actor,
            name="処理日数の中央値を5開庁日以内に",
            measure=Measure.MEDIAN_DAYS,
            target=5,
            period_start=start,
            period_end=end,
            owner="DX推進課",
        )
        services.kpi_create(
            actor=actor,
            name="補正率を10%未満に",
            measure=Measure.CORRECTION_RATE,
            target=10,
            period_start=start,
            period_end=end,
            owner="DX推進課",
        )
    services.kpi_refresh(municipality=municipality)
