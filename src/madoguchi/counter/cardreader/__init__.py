"""Card-reader plugins for the counter (書かない窓口): read the 基本4情報 of a マイナンバーカード.

The ``card_readers`` registry holds ``demo`` (a card given as JSON) and ``pcsc`` (the
券面事項入力補助AP through a PC/SC reader with pyscard, an optional extra). The contract lives in
``base.py``; the card format and its sources in docs/formats/card-reader.md.

    from madoguchi.counter.cardreader import card_readers, CardReadError
    data = card_readers["demo"].read(pin="1234", payload='{"name": …}')
"""

from __future__ import annotations

from madoguchi.counter.cardreader import demo, pcsc  # noqa: F401 (register the plugins)
from madoguchi.counter.cardreader.base import (
    AP_MISSING,
    DATA_INVALID,
    DRIVER_MISSING,
    IO_ERROR,
    MESSAGES,
    NO_CARD,
    NO_READER,
    PIN_FORMAT,
    PIN_LOCKED,
    PIN_WRONG,
    SEX_CODES,
    TIMEOUT,
    CardData,
    CardReader,
    CardReadError,
    card_readers,
)

__all__ = [
    "AP_MISSING",
    "DATA_INVALID",
    "DRIVER_MISSING",
    "IO_ERROR",
    "MESSAGES",
    "NO_CARD",
    "NO_READER",
    "PIN_FORMAT",
    "PIN_LOCKED",
    "PIN_WRONG",
    "SEX_CODES",
    "TIMEOUT",
    "CardData",
    "CardReadError",
    "CardReader",
    "card_readers",
]
