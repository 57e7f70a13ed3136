"""A simulated マイナンバーカード that answers APDUs like the real one, for tests and the demo.

``SimulatedCard`` has pyscard's ``CardConnection.transmit(apdu) -> (data, sw1, sw2)`` and keeps the
state a card keeps: the selected AP (DF) and EF, the PIN's security state (reset when another AP is
selected) and its retry counter (3, locked at 0: 6983), READ BINARY at an offset with Le 1..256
(Le=00 is 256) answered with at most ``max_response`` bytes, ``6282`` at the end of the file (or
``6Cxx`` with ``le_mode="exact"``), and the usual refusals: 6982 (PIN not verified), 6986 (no
current EF), 6A82 (no such AP/EF), 6A86 (bad P1/P2), 6B00 (offset past the end), 6D00 (unknown
INS), 6E00 (bad CLA), 6700 (bad length).

    card = SimulatedCard.from_card(card_data, pin="1234")
    PcscCardReader(connection_factory=lambda: card).read(pin="1234")

``log`` records (INS, P1, P2, SW) per command and never the command data (no PIN).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, Protocol

from madoguchi.counter.cardreader import mynacard as mc
from madoguchi.counter.cardreader.tlv import encode

Response = tuple[list[int], int, int]


class CardLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def birth_date(self) -> dt.date: ...
    @property
    def sex(self) -> str: ...
    @property
    def mynumber(self) -> str: ...


class SimulatedCardRemoved(Exception):
    """Raised by ``transmit`` after ``remove()``, as pyscard raises when the card leaves the reader."""


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None  # expected length, 1..256; None when absent


def _birth_text(birth: dt.date | str) -> str:
    return birth.strftime("%Y%m%d") if isinstance(birth, dt.date) else birth


def basic_four_ef(*, name: str, address: str, birth_date: dt.date | str, sex: str) -> bytes:
    """The 基本4情報 EF: FF20 { DF21 offsets, DF22 氏名, DF23 住所, DF24 YYYYMMDD, DF25 性別 }.

    The header holds the offset (from the start of the EF, 16-bit big-endian) of each item.
    """
    items = [
        encode(mc.TAG_NAME, name.encode("utf-8")),
        encode(mc.TAG_ADDRESS, address.encode("utf-8")),
        encode(mc.TAG_BIRTH, _birth_text(birth_date).encode("utf-8")),
        encode(mc.TAG_SEX, sex.encode("utf-8")),
    ]
    header_length = len(encode(mc.TAG_HEADER, bytes(2 * len(items))))
    inner_length = header_length + sum(len(item) for item in items)
    position = len(encode(mc.TAG_BASIC_FOUR, bytes(inner_length))) - inner_length + header_length
    offsets = bytearray()
    for item in items:
        offsets += position.to_bytes(2, "big")
        position += len(item)
    return encode(mc.TAG_BASIC_FOUR, encode(mc.TAG_HEADER, bytes(offsets)) + b"".join(items))


def mynumber_ef(mynumber: str) -> bytes:
    """The 個人番号 EF: D0 0C + 12 ASCII digits."""
    return encode(mc.TAG_MYNUMBER, mynumber.encode("ascii"))


def parse_command(apdu: list[int]) -> Command | None:
    """A short APDU (ISO 7816-4 cases 1–4); None when malformed or extended (unsupported here)."""
    if len(apdu) < 4 or any(not isinstance(b, int) or not 0 <= b <= 0xFF for b in apdu):
        return None
    cla, ins, p1, p2 = apdu[:4]
    body = bytes(apdu[4:])
    data = b""
    le: int | None = None
    if len(body) == 1:
        le = body[0] or 256
    elif len(body) > 1:
        lc = body[0]
        if lc == 0:  # extended length: not supported by this card
            return None
        data = body[1 : 1 + lc]
        rest = body[1 + lc :]
        if len(data) != lc or len(rest) > 1:
            return None
        if rest:
            le = rest[0] or 256
    return Command(cla=cla, ins=ins, p1=p1, p2=p2, data=data, le=le)


class SimulatedCard:
    """See the module docstring. Files are per AP; EF 0001/0002 need the verified PIN."""

    def __init__(
        self,
        *,
        name: str,
        address: str,
        birth_date: dt.date | str,
        sex: str,
        mynumber: str = "",
        pin: str = "1234",
        tries_left: int = mc.PIN_MAX_TRIES,
        has_kenhojo_ap: bool = True,
        max_response: int = 256,
        le_mode: Literal["eof", "exact"] = "eof",
        basic_four: bytes | None = None,
        mynumber_raw: bytes | None = None,
        padding: int = 0,
    ) -> None:
        if not 1 <= max_response <= 256:
            raise ValueError("max_response must be 1..256")
        self.pin = pin
        self.tries_left = tries_left
        self.max_response = max_response
        self.le_mode = le_mode
        pad = b"\xff" * padding
        kenhojo: dict[int, bytes] = {
            mc.EF_BASIC_FOUR: (
                basic_four
                if basic_four is not None
                else basic_four_ef(name=name, address=address, birth_date=birth_date, sex=sex)
            )
            + pad,
            mc.EF_PIN: b"",
        }
        if mynumber_raw is not None or mynumber:
            kenhojo[mc.EF_MYNUMBER] = (
                mynumber_raw if mynumber_raw is not None else mynumber_ef(mynumber)
            ) + pad
        self.files: dict[bytes, dict[int, bytes]] = {mc.AID_JPKI: {}, mc.AID_KENKAKU: {}}
        if has_kenhojo_ap:
            self.files[mc.AID_KENHOJO] = kenhojo
        self.protected = {mc.EF_MYNUMBER, mc.EF_BASIC_FOUR}
        self.current_df: bytes | None = None
        self.current_ef: int | None = None
        self.verified = False
        self.removed = False
        self.log: list[tuple[int, int, int, int]] = []  # (INS, P1, P2, SW); never the data

    @classmethod
    def from_card(cls, card: CardLike, **options: object) -> SimulatedCard:
        return cls(
            name=card.name,
            address=card.address,
            birth_date=card.birth_date,
            sex=card.sex,
            mynumber=card.mynumber,
            **options,  # type: ignore[arg-type]
        )

    def remove(self) -> None:
        self.removed = True

    # ------------------------------------------------------------------------- pyscard API
    def connect(self) -> None:
        if self.removed:
            raise SimulatedCardRemoved("no card")

    def disconnect(self) -> None:
        self.current_df = None
        self.current_ef = None
        self.verified = False

    def transmit(self, apdu: list[int]) -> Response:
        if self.removed:
            raise SimulatedCardRemoved("card removed")
        command = parse_command(apdu)
        data: list[int] = []
        if command is None:
            sw = mc.SW_WRONG_LENGTH
            ins, p1, p2 = [*apdu[1:4], 0, 0, 0][:3]
        else:
            data, sw = self._process(command)
            ins, p1, p2 = command.ins, command.p1, command.p2
        self.log.append((ins, p1, p2, (sw[0] << 8) | sw[1]))
        return data, sw[0], sw[1]

    def count(self, ins: int) -> int:
        """How many commands with this INS the card has answered."""
        return sum(1 for entry in self.log if entry[0] == ins)

    # ------------------------------------------------------------------------- commands
    def _process(self, command: Command) -> tuple[list[int], tuple[int, int]]:
        if command.cla != 0x00:
            return [], mc.SW_CLA_NOT_SUPPORTED
        if command.ins == mc.INS_SELECT:
            return [], self._select(command)
        if command.ins == mc.INS_VERIFY:
            return [], self._verify(command)
        if command.ins == mc.INS_READ_BINARY:
            return self._read_binary(command)
        return [], mc.SW_INS_NOT_SUPPORTED

    def _select(self, command: Command) -> tuple[int, int]:
        if command.p1 == 0x04:  # by DF name (AID)
            if command.p2 not in (0x00, 0x0C) or not command.data:
                return mc.SW_WRONG_P1P2
            if command.data not in self.files:
                return mc.SW_FILE_NOT_FOUND
            self.current_df = command.data
            self.current_ef = None
            self.verified = False  # the security state belongs to the AP that was selected
            return mc.SW_OK
        if command.p1 == 0x02:  # EF under the current DF
            if command.p2 not in (0x00, 0x0C):
                return mc.SW_WRONG_P1P2
            if len(command.data) != 2:
                return mc.SW_WRONG_LENGTH
            fid = int.from_bytes(command.data, "big")
            if self.current_df is None or fid not in self.files[self.current_df]:
                return mc.SW_FILE_NOT_FOUND
            self.current_ef = fid
            return mc.SW_OK
        return mc.SW_WRONG_P1P2

    def _verify(self, command: Command) -> tuple[int, int]:
        if command.p1 != 0x00 or command.p2 != 0x80:
            return mc.SW_WRONG_P1P2
        if self.current_df != mc.AID_KENHOJO or self.current_ef != mc.EF_PIN:
            return mc.SW_REFERENCE_NOT_FOUND
        if not command.data:  # status query: how many tries are left
            if self.tries_left == 0:
                return mc.SW_PIN_BLOCKED
            return (mc.SW1_PIN_TRIES, 0xC0 | self.tries_left)
        if self.tries_left == 0:
            return mc.SW_PIN_BLOCKED
        if len(command.data) != 4:
            return mc.SW_WRONG_LENGTH
        if command.data == self.pin.encode("ascii"):
            self.tries_left = mc.PIN_MAX_TRIES
            self.verified = True
            return mc.SW_OK
        self.tries_left -= 1
        self.verified = False
        return (mc.SW1_PIN_TRIES, 0xC0 | self.tries_left)

    def _read_binary(self, command: Command) -> tuple[list[int], tuple[int, int]]:
        if command.data:
            return [], mc.SW_WRONG_LENGTH
        if command.le is None:
            return [], mc.SW_WRONG_LENGTH
        if command.p1 & 0x80:  # short EF identifier in P1, offset in P2
            fid = command.p1 & 0x1F
            if command.p1 & 0x60 or self.current_df is None or fid not in self.files[self.current_df]:
                return [], mc.SW_FILE_NOT_FOUND
            self.current_ef = fid
            offset = command.p2
        else:
            offset = (command.p1 << 8) | command.p2
        if self.current_df is None or self.current_ef is None:
            return [], mc.SW_NO_CURRENT_EF
        if self.current_ef == mc.EF_PIN:
            return [], mc.SW_INCOMPATIBLE_FILE
        if self.current_ef in self.protected and not self.verified:
            return [], mc.SW_SECURITY_NOT_SATISFIED
        content = self.files[self.current_df][self.current_ef]
        if offset >= len(content):
            return [], mc.SW_OFFSET_OUT_OF_RANGE
        available = len(content) - offset
        if command.le > available and self.le_mode == "exact":
            return [], (mc.SW1_WRONG_LE, available & 0xFF)
        count = min(command.le, available, self.max_response)
        chunk = list(content[offset : offset + count])
        if count < command.le and offset + count == len(content):
            return chunk, mc.SW_END_OF_FILE
        return chunk, mc.SW_OK
