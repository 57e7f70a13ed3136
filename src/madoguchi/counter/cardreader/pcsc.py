"""``pcsc``: read the 券面事項入力補助AP of a マイナンバーカード through a PC/SC reader (pyscard).

pyscard is an optional extra (``pip install 'madoguchi[pcsc]'``) and is imported only when the
default connection factory runs, so this module imports (and its tests run) without it. Tests and
other transports pass their own ``connection_factory``: any callable returning an object with
pyscard's ``transmit(apdu: list[int]) -> (data: list[int], sw1: int, sw2: int)``.

The APDU sequence (docs/formats/card-reader.md has the sources):

1. SELECT the 券面事項入力補助AP by AID; 2. SELECT the PIN EF (0011), ask how many tries are left
(VERIFY without data, 63Cx) and VERIFY the 4-digit PIN; 3. SELECT the 基本4情報 EF (0002) and READ
BINARY: first the TLV header, then exactly the announced length in chunks of at most ``max_read``
bytes; 4. optionally SELECT + READ BINARY the 個人番号 EF (0001).

The PIN is sent to the card and nowhere else: it is not logged, not kept, not put in any error.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import unicodedata
from collections.abc import Callable
from typing import Any, Protocol

from madoguchi.core.jp.codes import is_valid_mynumber
from madoguchi.core.jp.wareki import parse_date_any
from madoguchi.counter.cardreader import mynacard as mc
from madoguchi.counter.cardreader.base import (
    AP_MISSING,
    DATA_INVALID,
    DRIVER_MISSING,
    IO_ERROR,
    NO_CARD,
    NO_READER,
    PIN_LOCKED,
    PIN_WRONG,
    SEX_CODES,
    TIMEOUT,
    CardData,
    CardReader,
    CardReadError,
    card_readers,
    check_pin_format,
)
from madoguchi.counter.cardreader.tlv import TLVError, parse_one, read_header

logger = logging.getLogger(__name__)

READER_NAME_ENV = "MADOGUCHI_CARD_READER_NAME"  # pick the reader whose name contains this text
HEADER_PROBE = 7  # bytes read first: a 2-byte tag and up to 5 length bytes
BASIC_FOUR_MAX = 4096  # no real 基本4情報 comes near this; a bigger length is a garbled read
MYNUMBER_MAX = 64


class CardConnection(Protocol):
    """The part of pyscard's ``CardConnection`` the plugin uses."""

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]: ...


ConnectionFactory = Callable[[], CardConnection]


def _error_for(exc: BaseException) -> CardReadError:
    """A transport exception (pyscard's or the factory's) as a card error, without its text."""
    if isinstance(exc, CardReadError):
        return exc
    if isinstance(exc, TimeoutError):
        return CardReadError(TIMEOUT)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"CardRequestTimeoutException"}:
        return CardReadError(TIMEOUT)
    if names & {"NoCardException", "CardRequestException"}:
        return CardReadError(NO_CARD)
    if names & {"NoReadersException", "ListReadersException", "EstablishContextException"}:
        return CardReadError(NO_READER)
    return CardReadError(IO_ERROR)


def pyscard_connection(reader_name: str | None = None) -> CardConnection:
    """Connect to the card in the first PC/SC reader (or the first whose name contains
    ``reader_name``, default from ``MADOGUCHI_CARD_READER_NAME``)."""
    try:
        from smartcard.System import readers as list_readers
    except ImportError:
        raise CardReadError(DRIVER_MISSING) from None
    wanted = reader_name if reader_name is not None else os.environ.get(READER_NAME_ENV, "")
    try:
        available = list(list_readers())
    except Exception as exc:
        raise CardReadError(NO_READER) from exc
    if wanted:
        available = [reader for reader in available if wanted in str(reader)]
    if not available:
        raise CardReadError(NO_READER)
    connection: Any = available[0].createConnection()
    try:
        connection.connect()
    except Exception as exc:
        error = _error_for(exc)
        if error.code == IO_ERROR:  # connect() fails this way when the reader is empty
            error = CardReadError(NO_CARD)
        raise error from exc
    return connection  # type: ignore[no-any-return]


def _sw(sw1: int, sw2: int) -> tuple[int, int]:
    return (sw1, sw2)


@card_readers.register("pcsc")
class PcscCardReader(CardReader):
    key = "pcsc"
    verbose_name = "ICカードリーダー（PC/SC・券面事項入力補助AP）"

    def __init__(
        self,
        *,
        connection_factory: ConnectionFactory | None = None,
        read_mynumber: bool = True,
        max_read: int = 256,
    ) -> None:
        if not 1 <= max_read <= 256:
            raise ValueError("max_read must be 1..256")
        self.connection_factory = connection_factory
        self.read_mynumber = read_mynumber
        self.max_read = max_read

    # ------------------------------------------------------------------------------ contract
    def check_config(self) -> list[str]:
        if self.connection_factory is not None:
            return []
        try:
            from smartcard.System import readers as list_readers
        except ImportError:
            return [
                "pyscard が導入されていません（pip install 'madoguchi[pcsc]'、PC/SC サービス pcscd も必要）。"
            ]
        try:
            available = list(list_readers())
        except Exception:
            return ["PC/SC サービス（pcscd）に接続できません。サービスが動いているか確認してください。"]
        wanted = os.environ.get(READER_NAME_ENV, "")
        if wanted and not any(wanted in str(reader) for reader in available):
            return [f"{READER_NAME_ENV} に合うカードリーダーがありません。"]
        if not available:
            return ["カードリーダーが接続されていません。"]
        return []

    def read(self, *, pin: str, payload: str | None = None) -> CardData:
        pin = check_pin_format(pin)
        factory = self.connection_factory or pyscard_connection
        try:
            connection = factory()
        except Exception as exc:
            raise _error_for(exc) from exc
        try:
            data = self._read(connection, pin)
        except CardReadError as exc:
            logger.info("card read failed: %s", exc.code, extra={"card_source": self.key})
            raise
        except TLVError as exc:
            logger.info("card read failed: %s", DATA_INVALID, extra={"card_source": self.key})
            raise CardReadError(DATA_INVALID) from exc
        except Exception as exc:
            error = _error_for(exc)
            logger.info("card read failed: %s", error.code, extra={"card_source": self.key})
            raise error from exc
        finally:
            disconnect = getattr(connection, "disconnect", None)
            if callable(disconnect):
                try:
                    disconnect()
                except Exception:  # noqa: S110 (the read is over either way)
                    pass
        logger.info("card read", extra={"card_source": self.key})
        return data

    # ------------------------------------------------------------------------------ APDUs
    def _transmit(self, connection: CardConnection, apdu: list[int]) -> tuple[bytes, tuple[int, int]]:
        result = connection.transmit(apdu)
        try:
            data, sw1, sw2 = result
            payload = bytes(data)
            status = _sw(int(sw1), int(sw2))
        except (TypeError, ValueError) as exc:
            raise CardReadError(IO_ERROR) from exc
        logger.debug("apdu ins=%02X p1=%02X p2=%02X sw=%02X%02X", apdu[1], apdu[2], apdu[3], *status)
        return payload, status

    def _read(self, connection: CardConnection, pin: str) -> CardData:
        _, sw = self._transmit(connection, mc.select_df(mc.AID_KENHOJO))
        if sw != mc.SW_OK:
            raise CardReadError(AP_MISSING)
        _, sw = self._transmit(connection, mc.select_ef(mc.EF_PIN))
        if sw != mc.SW_OK:
            raise CardReadError(AP_MISSING)
        self._verify(connection, pin)

        _, sw = self._transmit(connection, mc.select_ef(mc.EF_BASIC_FOUR))
        if sw != mc.SW_OK:
            raise CardReadError(DATA_INVALID)
        raw = self._read_tlv_file(connection, BASIC_FOUR_MAX)
        name, address, birth_date, sex = parse_basic_four(raw)

        mynumber = ""
        if self.read_mynumber:
            _, sw = self._transmit(connection, mc.select_ef(mc.EF_MYNUMBER))
            if sw != mc.SW_OK:
                raise CardReadError(DATA_INVALID)
            mynumber = parse_mynumber(self._read_tlv_file(connection, MYNUMBER_MAX))
        return CardData(
            name=name, address=address, birth_date=birth_date, sex=sex, mynumber=mynumber, source=self.key
        )

    def _verify(self, connection: CardConnection, pin: str) -> None:
        # Ask first how many tries are left: a locked PIN is reported without sending the PIN.
        _, sw = self._transmit(connection, mc.verify(None))
        if sw in (mc.SW_PIN_BLOCKED, (0x69, 0x84)) or sw == (mc.SW1_PIN_TRIES, 0xC0):
            raise CardReadError(PIN_LOCKED, remaining_tries=0)
        _, sw = self._transmit(connection, mc.verify(pin))
        if sw == mc.SW_OK:
            return
        if sw[0] == mc.SW1_PIN_TRIES and sw[1] & 0xF0 == 0xC0:
            remaining = sw[1] & 0x0F
            if remaining == 0:
                raise CardReadError(PIN_LOCKED, remaining_tries=0)
            raise CardReadError(PIN_WRONG, remaining_tries=remaining)
        if sw in (mc.SW_PIN_BLOCKED, (0x69, 0x84)):
            raise CardReadError(PIN_LOCKED, remaining_tries=0)
        raise CardReadError(IO_ERROR)

    def _read_at(self, connection: CardConnection, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer at the end of the file, none past it)."""
        data, sw = self._transmit(connection, mc.read_binary(offset, length))
        if sw[0] == mc.SW1_WRONG_LE:  # 6Cxx: ask again with the exact Le the card names
            exact = sw[1] or 256
            if exact >= length:
                raise CardReadError(IO_ERROR)
            data, sw = self._transmit(connection, mc.read_binary(offset, exact))
        if sw in (mc.SW_OK, mc.SW_END_OF_FILE):
            return data[:length]
        if sw == mc.SW_OFFSET_OUT_OF_RANGE:
            return b""
        raise CardReadError(IO_ERROR)

    def _read_tlv_file(self, connection: CardConnection, max_size: int) -> bytes:
        """One TLV from the start of the current EF: its header first, then exactly its length."""
        buffer = bytearray(self._read_at(connection, 0, min(HEADER_PROBE, self.max_read)))
        while True:
            try:
                _, _, header_length, value_length = read_header(bytes(buffer))
                break
            except TLVError:
                # the header may straddle a short first chunk; otherwise it is garbled
                if len(buffer) >= HEADER_PROBE:
                    raise
                more = self._read_at(connection, len(buffer), min(HEADER_PROBE - len(buffer), self.max_read))
                if not more:
                    raise
                buffer += more
        total = header_length + value_length
        if total > max_size:
            raise CardReadError(DATA_INVALID)
        del buffer[total:]  # an EF may be longer than its TLV (padding)
        while len(buffer) < total:
            chunk = self._read_at(connection, len(buffer), min(total - len(buffer), self.max_read))
            if not chunk:
                raise CardReadError(DATA_INVALID)  # the file ends before the TLV does
            buffer += chunk
        return bytes(buffer[:total])


# ---------------------------------------------------------------------------------- parsing
def _text(value: bytes) -> str:
    """UTF-8 text exactly as stored (異体字・外字 kept, no normalisation); control characters
    or invalid UTF-8 mean the read was garbled."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardReadError(DATA_INVALID) from exc
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise CardReadError(DATA_INVALID)
    return text


def parse_birth_date(value: bytes) -> dt.date:
    """``YYYYMMDD`` (what the card stores); other date forms (和暦 too) are accepted as a fallback."""
    text = _text(value).strip()
    try:
        if len(text) == 8 and text.isascii() and text.isdigit():
            birth = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        else:
            birth = parse_date_any(text)
    except ValueError as exc:
        raise CardReadError(DATA_INVALID) from exc
    if birth > dt.date.today() or birth.year < 1868:
        raise CardReadError(DATA_INVALID)
    return birth


def parse_basic_four(raw: bytes) -> tuple[str, str, dt.date, str]:
    """The 基本4情報 EF (FF20 {DF21 header, DF22 氏名, DF23 住所, DF24 生年月日, DF25 性別})."""
    try:
        outer, _ = parse_one(raw)
        if outer.tag != mc.TAG_BASIC_FOUR or not outer.constructed:
            raise CardReadError(DATA_INVALID)
        items: dict[int, bytes] = {}
        for child in outer.children():
            if child.tag in items:
                raise CardReadError(DATA_INVALID)
            items[child.tag] = child.value
    except TLVError as exc:
        raise CardReadError(DATA_INVALID) from exc
    try:
        name = _text(items[mc.TAG_NAME])
        address = _text(items[mc.TAG_ADDRESS])
        birth_raw = items[mc.TAG_BIRTH]
        sex = _text(items[mc.TAG_SEX]).strip()
    except KeyError as exc:
        raise CardReadError(DATA_INVALID) from exc
    if not name.strip() or not address.strip() or sex not in SEX_CODES:
        raise CardReadError(DATA_INVALID)
    return name, address, parse_birth_date(birth_raw), sex


def parse_mynumber(raw: bytes) -> str:
    """The 個人番号 EF (D0 0C + 12 ASCII digits, check digit verified). Never logged."""
    try:
        item, _ = parse_one(raw)
    except TLVError as exc:
        raise CardReadError(DATA_INVALID) from exc
    if item.tag != mc.TAG_MYNUMBER or item.constructed:
        raise CardReadError(DATA_INVALID)
    try:
        number = item.value.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CardReadError(DATA_INVALID) from exc
    if len(number) != 12 or not number.isdigit() or not is_valid_mynumber(number):
        raise CardReadError(DATA_INVALID)
    return number
