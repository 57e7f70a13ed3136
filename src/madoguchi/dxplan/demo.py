"""Demo data for みどり市: a 工程表, the 標準化移行 tracker part-way through, and two card-rate tables.

``dxplan_demo_ensure(municipality=…)`` is idempotent: projects and tracker cells are written only when
the municipality has none, and the card-rate tables are imported by content (the same bytes twice is
a no-op). Dates follow today, so the demo always shows work done, work under way and a few delays.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from madoguchi.core.models import Municipality
from madoguchi.dxplan.catalog import BUSINESSES, ITEMS, PHASE_OF_ITEM
from madoguchi.dxplan.charts import fiscal_year
from madoguchi.dxplan.models import MigrationTask, Milestone, Priority, Project, ProjectStatus, TaskStatus
from madoguchi.dxplan.services import cardrate_store

# (priority, title, department, person, start fiscal-year offset, years, milestones (offset in months, title))
PROJECTS: list[tuple[str, str, str, str, int, int, list[tuple[int, str]]]] = [
    (
        Priority.STANDARDIZATION,
        "基幹業務システムの標準準拠システムへの移行",
        "情報政策課",
        "佐藤 健",
        -3,
        4,
        [(6, "移行計画の策定"), (18, "ベンダ選定"), (30, "データ移行リハーサル"), (42, "本番稼働")],
    ),
    (
        Priority.STANDARDIZATION,
        "ガバメントクラウド接続回線の整備",
        "情報政策課",
        "高橋 実",
        -1,
        2,
        [(4, "回線方式の決定"), (14, "接続試験")],
    ),
    (
        Priority.MYNUMBER,
        "マイナンバーカード出張申請受付",
        "市民課",
        "鈴木 美咲",
        -2,
        3,
        [(3, "商業施設での受付開始"), (15, "全公民館を巡回")],
    ),
    (
        Priority.MYNUMBER,
        "コンビニ交付の対象証明書拡大",
        "市民課",
        "伊藤 大輔",
        0,
        1,
        [(5, "戸籍証明書の追加")],
    ),
    (
        Priority.ONLINE,
        "子育て・介護26手続のオンライン化",
        "DX推進課",
        "推進 颯太",
        -2,
        2,
        [(6, "ぴったりサービスの様式登録"), (12, "申請管理システム連携")],
    ),
    (
        Priority.ONLINE,
        "施設予約・手数料のキャッシュレス化",
        "DX推進課",
        "山本 彩",
        0,
        2,
        [(8, "決済事業者の選定")],
    ),
    (
        Priority.AI_RPA,
        "AI-OCRによる紙申請の入力削減",
        "DX推進課",
        "中村 翔",
        -1,
        2,
        [(3, "実証（児童手当）"), (10, "全庁展開")],
    ),
    (Priority.AI_RPA, "RPAによる発送簿作成の自動化", "総務課", "小林 恵", 0, 1, [(4, "シナリオ作成")]),
    (
        Priority.TELEWORK,
        "テレワーク端末の全庁配備",
        "人事課",
        "加藤 隆",
        -1,
        2,
        [(6, "第1期配備"), (16, "第2期配備")],
    ),
    (
        Priority.SECURITY,
        "情報セキュリティポリシーの改定",
        "情報政策課",
        "吉田 直樹",
        0,
        1,
        [(5, "改定案の庁議")],
    ),
    (
        Priority.SECURITY,
        "職員向け標的型メール訓練",
        "情報政策課",
        "山田 優",
        0,
        1,
        [(2, "第1回訓練"), (8, "第2回訓練")],
    ),
    (
        Priority.FRONTYARD,
        "書かない窓口の導入（市民課）",
        "市民課",
        "渡辺 真理",
        -1,
        2,
        [(4, "業務フローの見直し (BPR)"), (9, "試行開始"), (15, "本格稼働")],
    ),
    (Priority.FRONTYARD, "来庁予約・呼出表示の導入", "市民課", "斎藤 光", 0, 1, [(6, "呼出表示の設置")]),
]


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28))


def _projects(municipality: Municipality, today: date) -> None:
    fy = fiscal_year(today)
    for priority, title, dept, person, offset, years, milestones in PROJECTS:
        start = date(fy + offset, 4, 1)
        end = date(fy + offset + years, 3, 31)
        status = (
            ProjectStatus.DONE
            if end < today
            else ProjectStatus.PLANNED
            if start > today
            else ProjectStatus.IN_PROGRESS
        )
        project = Project.objects.create(
            municipality=municipality,
            priority=priority,
            title=title,
            owner_department=dept,
            owner_person=person,
            status=status,
            start_date=start,
            end_date=end,
            description=f"{title}（自治体DX推進計画の重点取組事項「{Priority(priority).label}」）",
        )
        for months, name in milestones:
            due = _add_months(start, months)
            done = due < today - timedelta(days=20)
            Milestone.objects.create(
                project=project, title=name, due_date=due, done=done, done_on=due if done else None
            )


def _tracker(municipality: Municipality, today: date) -> None:
    """The plan phase done everywhere, selection mostly done, migration under way (a few late), and a
    few cells 対象外 (e.g. 印鑑登録 has no PIA)."""
    rng = random.Random(f"dxplan-{municipality.code}")
    # the schedule ends on the last day of the current fiscal year; each item has a slot on it
    end = date(fiscal_year(today) + 1, 3, 31)
    begin = date(fiscal_year(today) - 3, 4, 1)
    span = (end - begin).days
    rows = []
    for b_index, (code, _name) in enumerate(BUSINESSES):
        lag = rng.randint(-30, 60) + b_index * 3
        for n in ITEMS:
            planned_start = begin + timedelta(days=int(span * (n - 1) / 17) + lag)
            planned_end = min(end, planned_start + timedelta(days=int(span / 12)))
            phase = PHASE_OF_ITEM[n].code
            if code == "inkan_toroku" and n == 12:
                status = TaskStatus.NOT_APPLICABLE
            elif planned_end < today - timedelta(days=30) and not (
                phase == "migrate" and rng.random() < 0.25
            ):
                status = TaskStatus.DONE
            elif planned_start <= today:
                status = TaskStatus.STARTED
            else:
                status = TaskStatus.NOT_STARTED
            actual_start = (
                planned_start + timedelta(days=rng.randint(-5, 20))
                if status
                in (
                    TaskStatus.STARTED,
                    TaskStatus.DONE,
                )
                else None
            )
            if actual_start and actual_start > today:
                actual_start = today
            actual_end = None
            if status == TaskStatus.DONE and actual_start:
                actual_end = min(today, max(actual_start, planned_end + timedelta(days=rng.randint(-15, 25))))
            rows.append(
                MigrationTask(
                    municipality=municipality,
                    business=code,
                    item=n,
                    status=status,
                    planned_start=planned_start,
                    planned_end=planned_end,
                    actual_start=actual_start,
                    actual_end=actual_end,
                    note="特定個人情報を扱わないため評価不要" if status == TaskStatus.NOT_APPLICABLE else "",
                )
            )
    MigrationTask.objects.bulk_create(rows)


OTHER_MUNICIPALITIES = [
    ("架空県", "あおば町"), ("架空県", "さくら市"), ("架空県", "ひかり村"), ("架空県", "みなと市"),
    ("架空県", "やまなみ町"), ("架空県", "かわせ市"), ("架空県", "はるの町"), ("架空県", "つばさ市"),
    ("北海道", "札幌市"), ("北海道", "旭川市"), ("青森県", "弘前市"), ("宮城県", "仙台市"),
    ("茨城県", "つくば市"), ("群馬県", "太田市"), ("千葉県", "市川市"), ("東京都", "港区"),
    ("東京都", "板橋区"), ("神奈川県", "横浜市"), ("新潟県", "粟島浦村"), ("石川県", "加賀市"),
    ("石川県", "かほく市"), ("長野県", "南牧村"), ("静岡県", "西伊豆町"), ("愛知県", "名古屋市"),
    ("三重県", "いなべ市"), ("大阪府", "大阪市"), ("兵庫県", "養父市"), ("兵庫県", "三田市"),
    ("岡山県", "岡山市"), ("愛媛県", "大洲市"), ("高知県", "宿毛市"), ("高知県", "日高村"),
    ("福岡県", "行橋市"), ("熊本県", "熊本市"), ("大分県", "姫島村"), ("宮崎県", "都城市"),
    ("鹿児島県", "中種子町"), ("沖縄県", "那覇市"),
]  # fmt: skip

CARD_DATES = [(date(2025, 3, 31), "令和7年3月31日"), (date(2025, 9, 30), "令和7年9月30日")]


def demo_cardrate_tables() -> list[tuple[str, bytes]]:
    """Two 市区町村別 tables as 総務省 publishes them: a title line with the date, a header, 人口 with
    commas, rates with %; the first in UTF-8 with BOM, the second in Shift_JIS (cp932)."""
    rng = random.Random(2025)
    base = {
        (pref, name): (rng.randint(800, 1_500_000), rng.uniform(62.0, 82.0))
        for pref, name in OTHER_MUNICIPALITIES
    }
    base[("架空県", "みどり市")] = (84_312, 71.4)
    files = []
    for step, (_, label) in enumerate(CARD_DATES):
        lines = [
            f"マイナンバーカードの市区町村別交付枚数等について（{label}現在）",
            "",
            "団体コード,都道府県名,市区町村名,人口,交付枚数,人口に対する交付枚数率",
        ]
        for (pref, name), (population, rate) in base.items():
            rate_now = rate + step * (2.1 if name == "みどり市" else rng.uniform(0.5, 2.5))
            issued = round(population * rate_now / 100)
            code = "999997" if name == "みどり市" else ""
            lines.append(
                f'{code},{pref},{name},"{population:,}","{issued:,}",{issued * 100 / population:.1f}%'
            )
        text = "\r\n".join(lines) + "\r\n"
        content = ("\ufeff" + text).encode("utf-8") if step == 0 else text.encode("cp932")
        files.append((f"cardrate-{CARD_DATES[step][0]:%Y%m%d}.csv", content))
    return files


def dxplan_demo_ensure(*, municipality: Municipality) -> None:
    today = timezone.localdate()
    with transaction.atomic():
        if not Project.objects.filter(municipality=municipality).exists():
            _projects(municipality, today)
        if not MigrationTask.objects.filter(municipality=municipality).exists():
            _tracker(municipality, today)
    for filename, content in demo_cardrate_tables():
        cardrate_store(municipality=municipality, content=content, filename=filename)
