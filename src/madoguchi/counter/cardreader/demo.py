"""``demo``: a card given as JSON, for the demo municipality and for tests of the counter UI.

``payload`` is ``{"name", "address", "birth_date", "sex", "mynumber"?}``: ``birth_date`` in any form
``parse_date_any`` reads (``1990-04-01``, ``平成2年4月1日``, ``H2.4.1`` …), ``sex`` "1"/"2"/"9" (or
男/女). The PIN must be 4 digits; ``"0000"`` simulates a wrong PIN (2 tries left), any other is right.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from madoguchi.core.jp.codes import is_valid_mynumber, normalize_mynumber
from madoguchi.core.jp.wareki import parse_date_any
from madoguchi.counter.cardreader.base import (
    DATA_INVALID,
    NO_CARD,
    PIN_WRONG,
    SEX_CODES,
    CardData,
    CardReader,
    CardReadError,
    card_readers,
    check_pin_format,
)

logger = logging.getLogger(__name__)

WRONG_PIN = "0000"
WRONG_PIN_REMAINING = 2
FIELDS = frozenset({"name", "address", "birth_date", "sex", "mynumber"})
NAME_MAX = 100
ADDRESS_MAX = 400
PAYLOAD_MAX = 16_384
SEX_WORDS = {"男": "1", "男性": "1", "女": "2", "女性": "2", "適用不能": "9"}


def _invalid(message: str) -> CardReadError:
    return CardReadError(DATA_INVALID, f"デモ用カードの内容が正しくありません: {message}")


def _text(data: dict[str, Any], key: str, label: str, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{label}がありません。")
    if len(value) > limit:
        raise _invalid(f"{label}が長すぎます（{limit}文字まで）。")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise _invalid(f"{label}に制御文字が含まれています。")
    return value


def parse_payload(payload: str | None) -> dict[str, Any]:
    if payload is None or not payload.strip():
        raise CardReadError(NO_CARD, "デモ用カードが置かれていません（カードの内容が空です）。")
    if len(payload) > PAYLOAD_MAX:
        raise _invalid("大きすぎます。")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise _invalid("JSON として読めません。") from None
    if not isinstance(data, dict):
        raise _invalid("JSON のオブジェクトではありません。")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise _invalid(f"知らない項目があります: {', '.join(unknown)}")
    return data


@card_readers.register("demo")
class DemoCardReader(CardReader):
    key = "demo"
    verbose_name = "デモ用カード（JSON）"

    def read(self, *, pin: str, payload: str | None = None) -> CardData:
        data = parse_payload(payload)
        check_pin_format(pin)
        if pin == WRONG_PIN:
            raise CardReadError(PIN_WRONG, remaining_tries=WRONG_PIN_REMAINING)

        name = _text(data, "name", "氏名", NAME_MAX)
        address = _text(data, "address", "住所", ADDRESS_MAX)
        birth_text = data.get("birth_date")
        if not isinstance(birth_text, str) or not birth_text.strip():
            raise _invalid("生年月日がありません。")
        try:
            birth_date = parse_date_any(birth_text)
        except ValueError as exc:
            raise _invalid(str(exc)) from None
        if birth_date > dt.date.today() or birth_date.year < 1868:
            raise _invalid("生年月日がありえない日付です。")

        sex_value = data.get("sex")
        sex = str(sex_value) if isinstance(sex_value, (str, int)) and not isinstance(sex_value, bool) else ""
        sex = SEX_WORDS.get(sex, sex)
        if sex not in SEX_CODES:
            raise _invalid("性別は 1（男）・2（女）・9（適用不能）のいずれかです。")

        mynumber = data.get("mynumber") or ""
        if not isinstance(mynumber, str) or (mynumber and not is_valid_mynumber(mynumber)):
            raise _invalid("個人番号が正しくありません。")  # the number itself is never echoed
        mynumber = normalize_mynumber(mynumber) if mynumber else ""

        logger.info("card read", extra={"card_source": self.key})
        return CardData(
            name=name, address=address, birth_date=birth_date, sex=sex, mynumber=mynumber, source=self.key
        )
