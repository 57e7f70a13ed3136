"""Search normalisation for personal names (氏名 / フリガナ) in the staff inbox.

:func:`search_key` folds away the differences that should not matter when a clerk types a name:
カナ/かな, 全角/半角, spaces (incl. 全角 space), 中黒, case, long-vowel look-alikes and 異体字
(髙橋 = 高橋, 渡邉 = 渡辺). The stored name is never changed: residents' names are kept exactly as
registered, and the key is only used for matching (``Resident.name_search``).

Small kana stay distinct from large ones (ッ ≠ ツ, ャ ≠ ヤ) and ヴ stays ヴ: those differences
are meaningful in names.
"""

from __future__ import annotations

import re
import unicodedata

from madoguchi.core.jp.kana import hiragana_to_katakana

__all__ = ["ITAIJI", "search_key"]

#: 異体字 → the common form used in the search key. One pass suffices: no value is also a key.
#:
#: The last group holds CJK compatibility ideographs that NFKC already folds to the same target
#: (listed for documentation and so the table stands on its own); 﨑 (U+FA11), 﨔 (U+FA14)
#: and the other "unified" ideographs of the compatibility block (U+FA0E, FA0F, FA11, FA13, FA14,
#: FA1F, FA21, FA23, FA24, FA27-FA29) have no decomposition, so NFKC does not touch them.
ITAIJI: dict[str, str] = {
    # 高・崎・斎・辺・浜 — the most frequent surname variants
    "髙": "高",  # はしご高
    "﨑": "崎",  # たつさき U+FA11, not folded by NFKC
    "嵜": "崎",
    "碕": "崎",
    "齋": "斎",
    "齊": "斎",
    "斉": "斎",  # 斉藤/斎藤 are registered as different names but must find each other
    "邊": "辺",
    "邉": "辺",
    "濵": "浜",
    "濱": "浜",
    "𠮷": "吉",  # つちよし U+20BB7 (outside the BMP)
    # 旧字体 and 俗字 → the common form
    "德": "徳",
    "櫻": "桜",
    "澤": "沢",
    "廣": "広",
    "國": "国",
    "圀": "国",
    "榮": "栄",
    "眞": "真",
    "學": "学",
    "瀨": "瀬",
    "槇": "槙",
    "鷗": "鴎",
    "嶋": "島",
    "嶌": "島",
    "冨": "富",
    "藏": "蔵",
    "龍": "竜",
    "壽": "寿",
    "惠": "恵",
    "條": "条",
    "關": "関",
    "萬": "万",
    "實": "実",
    "淺": "浅",
    "會": "会",
    "與": "与",
    "應": "応",
    "圓": "円",
    "亞": "亜",
    "兒": "児",
    "壹": "壱",
    "彌": "弥",
    "禮": "礼",
    "藝": "芸",
    "莊": "荘",
    "豐": "豊",
    "嶽": "岳",
    "峯": "峰",
    "舘": "館",
    "槗": "橋",
    "栁": "柳",
    "檜": "桧",
    "晉": "晋",
    "來": "来",
    "黑": "黒",
    "靑": "青",
    "淸": "清",
    "穗": "穂",
    "廸": "迪",
    "曾": "曽",
    "增": "増",
    "顯": "顕",
    "嚴": "厳",
    "傳": "伝",
    "邨": "村",
    "瀧": "滝",
    "籠": "篭",
    "埜": "野",
    "桒": "桑",
    "舩": "船",
    "鄕": "郷",
    "縣": "県",
    "發": "発",
    "萠": "萌",
    "敎": "教",
    "稻": "稲",
    "濟": "済",
    "繪": "絵",
    "驒": "騨",
    "寬": "寛",
    "晄": "晃",
    "凜": "凛",
    "堯": "尭",
    "遙": "遥",
    "瑤": "瑶",
    "讓": "譲",
    "巢": "巣",
    "樂": "楽",
    "步": "歩",
    "佛": "仏",
    "恆": "恒",
    "聰": "聡",
    "勳": "勲",
    "澁": "渋",
    "蘆": "芦",
    "鐵": "鉄",
    "鉃": "鉄",
    "寶": "宝",
    "寳": "宝",
    "黃": "黄",
    "彥": "彦",
    "靜": "静",
    "絲": "糸",
    "麥": "麦",
    "鹽": "塩",
    "卷": "巻",
    "壯": "壮",
    "將": "将",
    "乘": "乗",
    "從": "従",
    "兩": "両",
    "團": "団",
    "營": "営",
    "螢": "蛍",
    "豬": "猪",
    "舍": "舎",
    "冲": "沖",
    "穰": "穣",
    "峽": "峡",
    "狹": "狭",
    "兔": "兎",
    "渕": "淵",
    "﨔": "欅",  # U+FA14, not folded by NFKC
    # CJK compatibility ideographs: NFKC (the first step of search_key) already folds these to the
    # same target, so these entries never fire; they document the behaviour and keep the table
    # usable on its own.
    "\uf9dc": "隆",  # U+F9DC → U+9686
    "\ufa19": "神",  # U+FA19 → U+795E
    "\ufa10": "塚",  # U+FA10 → U+585A
    "\ufa26": "都",  # U+FA26 → U+90FD
    "\ufa1a": "祥",  # U+FA1A → U+7965
    "\ufa4f": "祐",  # U+FA4F → U+7950
    "\ufa16": "猪",  # U+FA16 → U+732A
    "\ufa12": "晴",  # U+FA12 → U+6674
    "\ufa1b": "福",  # U+FA1B → U+798F
    "\ufa4c": "社",  # U+FA4C → U+793E
    "\ufa1d": "精",  # U+FA1D → U+7CBE
    "\ufa22": "諸",  # U+FA22 → U+8AF8
    "\ufa67": "逸",  # U+FA67 → U+9038
    "\ufa4a": "琢",  # U+FA4A → U+7422
}

_ITAIJI_TABLE = str.maketrans(ITAIJI)

# Characters that only separate words or select a glyph: all whitespace (after NFKC the 全角
# space is a plain space), 中黒 and other middle dots, zero-width characters and variation
# selectors (an IVS such as 葛 + U+E0100 must match plain 葛).
_DROP = re.compile(
    "[\\s\u30fb\u00b7\u2027\u2219\u22c5\u200b-\u200d\u2060\ufeff\ufe00-\ufe0f\U000e0100-\U000e01ef]+"
)
# Long-vowel look-alikes: ｰ (U+FF70, NFKC → ー), ー, hyphen-minus (－ after NFKC), ‐ ‑ ‒ – — ― −.
_LONG_VOWEL = re.compile("[\\-\u2010-\u2015\u2212\u30fc]")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = hiragana_to_katakana(text)
    text = _DROP.sub("", text)
    text = text.lower()
    text = text.translate(_ITAIJI_TABLE)
    text = _LONG_VOWEL.sub("ー", text)
    # Dropping spaces or converting kana can leave a base + combining mark pair that composes
    # (か + space + ゛ → カ゛ → ガ; わ゛ → ヷ), so compose once more at the end.
    return unicodedata.normalize("NFKC", text)


def search_key(text: str) -> str:
    """The matching key for a name: 全角/半角, カナ/かな, spaces, 中黒, case and 異体字 folded.

    Steps: NFKC (半角カナ → 全角 with ﾀﾞ → ダ, 全角英数 → ASCII, compatibility ideographs),
    hiragana → katakana, drop whitespace (incl. 全角 space), 中黒, zero-width characters and
    variation selectors, lower-case, :data:`ITAIJI`, long-vowel look-alikes → ``ー``, and a final
    NFKC. ``search_key("ﾔﾏﾀﾞ　髙橋") == "ヤマダ高橋"``. Idempotent:
    ``search_key(search_key(x)) == search_key(x)``.
    """
    return _fold(text)
