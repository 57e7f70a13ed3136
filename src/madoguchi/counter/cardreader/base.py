"""The contract of a card-reader plugin (カードリーダー): what the counter gets from a マイナンバーカード.

A plugin reads the 基本4情報 (氏名, 住所, 生年月日, 性別) and, where it can, the 個人番号 from the
券面事項入力補助AP, after the resident has entered the 4-digit 券面事項入力補助用暗証番号:

- ``read(*, pin, payload=None) -> CardData`` or raise :class:`CardReadError` with one of the codes
  below and a Japanese message the clerk can act on. ``payload`` is plugin-specific (the ``demo``
  plugin takes the card as JSON; ``pcsc`` ignores it).
- ``check_config() -> list[str]``: problems an operator must fix (empty = fine).

Nothing here logs a PIN or a 個人番号; ``CardData`` keeps the 個人番号 out of its ``repr``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from madoguchi.core.errors import MadoguchiError
from madoguchi.core.registry import Plugin, Registry

# 性別 as on the card (ISO/IEC 5218, the card's own coding). madoguchi.core.models.Sex has "1" and
# "2"; the card can also say "9" (適用不能), which the register mirror has no value for yet.
SEX_MALE = "1"
SEX_FEMALE = "2"
SEX_NOT_APPLICABLE = "9"
SEX_CODES = frozenset({SEX_MALE, SEX_FEMALE, SEX_NOT_APPLICABLE})
SEX_LABELS = {SEX_MALE: "男", SEX_FEMALE: "女", SEX_NOT_APPLICABLE: "適用不能"}

# Error codes (stable; docs/formats/card-reader.md lists them with what the clerk should do).
NO_READER = "card.no_reader"
NO_CARD = "card.no_card"
DRIVER_MISSING = "card.driver_missing"
PIN_FORMAT = "card.pin_format"
PIN_WRONG = "card.pin_wrong"
PIN_LOCKED = "card.pin_locked"
AP_MISSING = "card.ap_missing"
DATA_INVALID = "card.data_invalid"
TIMEOUT = "card.timeout"
IO_ERROR = "card.io_error"

MESSAGES: dict[str, str] = {
    NO_READER: "カードリーダーが見つかりません。接続を確認してください。",
    NO_CARD: "カードが読み取れません。マイナンバーカードをカードリーダーに置き直してください。",
    DRIVER_MISSING: "カードリーダーのドライバ（pyscard）が導入されていません。管理者に連絡してください。",
    PIN_FORMAT: "暗証番号は数字4桁で入力してください。",
    PIN_WRONG: "暗証番号が違います。",
    PIN_LOCKED: (
        "券面事項入力補助用暗証番号がロックされています。本人確認のうえ、暗証番号の再設定の手続を"
        "案内してください。"
    ),
    AP_MISSING: "マイナンバーカードの券面事項入力補助の機能が見つかりません。マイナンバーカードか確認してください。",
    DATA_INVALID: "カードの情報を正しく読み取れませんでした。もう一度読み取ってください。",
    TIMEOUT: "カードの読み取りが時間内に終わりませんでした。カードを置き直して、もう一度読み取ってください。",
    IO_ERROR: "カードとの通信に失敗しました。カードを置き直して、もう一度読み取ってください。",
}


class CardReadError(MadoguchiError):
    """A card could not be read: ``code`` (one of the ``card.*`` codes) and a Japanese message.

    ``remaining_tries`` is set for ``card.pin_wrong`` (how many wrong PINs the card still accepts)
    and is 0 for ``card.pin_locked``.
    """

    code = "card.error"
    default_message = "カードを読み取れませんでした。"

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        remaining_tries: int | None = None,
        details: object = None,
    ) -> None:
        if message is None:
            message = MESSAGES.get(code, self.default_message)
            if code == PIN_WRONG and remaining_tries is not None:
                message = f"暗証番号が違います。あと{remaining_tries}回間違えるとロックされます。"
        super().__init__(message, code=code, details=details)
        self.remaining_tries = remaining_tries


@dataclass(frozen=True, kw_only=True)
class CardData:
    """The 基本4情報 as read from a card, unchanged (外字・異体字 kept; no normalisation)."""

    name: str
    address: str
    birth_date: dt.date
    sex: str  # "1" 男 / "2" 女 / "9" 適用不能 (SEX_CODES)
    source: str  # the plugin key that read it
    mynumber: str = field(default="", repr=False)  # only when the plugin reads it; never logged

    @property
    def sex_label(self) -> str:
        return SEX_LABELS.get(self.sex, "")


class CardReader(Plugin):
    """Base class of the card-reader plugins; see the module docstring for the contract."""

    def read(self, *, pin: str, payload: str | None = None) -> CardData:
        raise NotImplementedError


card_readers: Registry[CardReader] = Registry("counter.card_readers")


def check_pin_format(pin: object) -> str:
    """The PIN if it is exactly 4 ASCII digits, else ``card.pin_format`` (the PIN is never echoed)."""
    if not isinstance(pin, str) or len(pin) != 4 or not all("0" <= ch <= "9" for ch in pin):
        raise CardReadError(PIN_FORMAT)
    return pin
