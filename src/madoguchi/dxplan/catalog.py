"""The fixed lists of the 標準化・共通化 migration (seed 002, 自治体情報システムの標準化・共通化に係る手順書):
the 20 基幹業務 and the 17 作業項目 in their 3 phases."""

from __future__ import annotations

from dataclasses import dataclass

# (code, name) — the 20 業務 of 地方公共団体情報システムの標準化に関する法律, in the order the issue lists them
BUSINESSES: list[tuple[str, str]] = [
    ("jido_teate", "児童手当"),
    ("jumin_kihon_daicho", "住民基本台帳"),
    ("senkyonin_meibo", "選挙人名簿管理"),
    ("kotei_shisanzei", "固定資産税"),
    ("kojin_juminzei", "個人住民税"),
    ("hojin_juminzei", "法人住民税"),
    ("keijidoshazei", "軽自動車税"),
    ("shugaku", "就学"),
    ("kokumin_kenko_hoken", "国民健康保険"),
    ("kokumin_nenkin", "国民年金"),
    ("shogaisha_fukushi", "障害者福祉"),
    ("koki_koreisha_iryo", "後期高齢者医療"),
    ("kaigo_hoken", "介護保険"),
    ("seikatsu_hogo", "生活保護"),
    ("kenko_kanri", "健康管理"),
    ("jido_fuyo_teate", "児童扶養手当"),
    ("kodomo_kosodate", "子ども・子育て支援"),
    ("koseki", "戸籍"),
    ("koseki_fuhyo", "戸籍の附票"),
    ("inkan_toroku", "印鑑登録"),
]
BUSINESS_CHOICES = BUSINESSES
BUSINESS_NAMES = dict(BUSINESSES)


@dataclass(frozen=True)
class Phase:
    code: str
    name: str
    items: tuple[int, ...]


PHASES: tuple[Phase, ...] = (
    Phase("plan", "計画立案", (1, 2, 3, 4)),
    Phase("select", "システム選定", (5, 6, 7, 8, 9, 10, 11, 12)),
    Phase("migrate", "移行", (13, 14, 15, 16, 17)),
)

# the 17 作業項目, named as in the 手順書 (seed 002)
ITEMS: dict[int, str] = {
    1: "推進体制の立ち上げ",
    2: "現行システムの概要調査",
    3: "標準仕様との比較分析",
    4: "移行計画作成",
    5: "ベンダに対する情報提供依頼(RFI)資料の作成",
    6: "RFIの実施",
    7: "RFI結果分析及び移行計画の詳細化",
    8: "予算要求",
    9: "ベンダへ提案依頼(RFP)",
    10: "ベンダ選定・決定",
    11: "契約・詳細スケジュールの確定",
    12: "特定個人情報保護評価(PIA)",
    13: "システム移行時の設定",
    14: "データ移行",
    15: "テスト・研修",
    16: "次期情報システム環境構築・NW",
    17: "条例・規則等改正",
}
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰"
ITEM_CHOICES = [(n, f"{CIRCLED[n - 1]}{name}") for n, name in ITEMS.items()]
PHASE_OF_ITEM = {n: phase for phase in PHASES for n in phase.items}


def item_label(n: int) -> str:
    return f"{CIRCLED[n - 1]}{ITEMS[n]}"
