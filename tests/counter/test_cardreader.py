"""Card-reader plugins: the ``demo`` JSON card, and ``pcsc`` against a simulated マイナンバーカード."""

from __future__ import annotations

import datetime as dt
import json
import sys
import types
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.jp.codes import mynumber_check_digit
from madoguchi.counter.cardreader import (
    AP_MISSING,
    DATA_INVALID,
    DRIVER_MISSING,
    IO_ERROR,
    NO_CARD,
    NO_READER,
    PIN_FORMAT,
    PIN_LOCKED,
    PIN_WRONG,
    TIMEOUT,
    CardData,
    CardReadError,
    card_readers,
)
from madoguchi.counter.cardreader import mynacard as mc
from madoguchi.counter.cardreader.pcsc import PcscCardReader, pyscard_connection
from madoguchi.counter.cardreader.simulated import SimulatedCard, basic_four_ef, mynumber_ef
from madoguchi.counter.cardreader.tlv import TLVError, encode, encode_length, parse_all, parse_one

MYNUMBER = "123456789018"  # a valid check digit (the example of codes.is_valid_mynumber)
PIN = "1234"


def card_data(**overrides: Any) -> CardData:
    values: dict[str, Any] = {
        "name": "髙﨑　𠮷太郎",  # 髙 (U+9AD9), 﨑 (U+FA11), 𠮷 (U+20BB7, 4 bytes in UTF-8)
        "address": "東京都千代田区霞が関一丁目１番１号　みどりマンション１０１号室",
        "birth_date": dt.date(1990, 4, 1),
        "sex": "2",
        "mynumber": MYNUMBER,
        "source": "pcsc",
    }
    values.update(overrides)
    return CardData(**values)


def reader_for(card: SimulatedCard, **options: Any) -> PcscCardReader:
    return PcscCardReader(connection_factory=lambda: card, **options)


def read_error(reader: Any, pin: str = PIN, payload: str | None = None) -> CardReadError:
    with pytest.raises(CardReadError) as info:
        reader.read(pin=pin, payload=payload)
    return info.value


# ------------------------------------------------------------------------------------- registry
def test_registry_has_both_plugins() -> None:
    assert {"demo", "pcsc"} <= set(card_readers.keys())
    assert card_readers["demo"].key == "demo"
    assert card_readers["pcsc"].key == "pcsc"
    assert card_readers["demo"].check_config() == []


def test_card_data_repr_hides_the_mynumber() -> None:
    data = card_data()
    assert MYNUMBER not in repr(data)
    assert data.sex_label == "女"


# ------------------------------------------------------------------------------------- demo
def demo_payload(**overrides: Any) -> str:
    values: dict[str, Any] = {
        "name": "山田　髙子",
        "address": "みどり市中央一丁目2番3号",
        "birth_date": "1990-04-01",
        "sex": "2",
    }
    values.update(overrides)
    return json.dumps({k: v for k, v in values.items() if v is not None}, ensure_ascii=False)


def test_demo_reads_the_payload() -> None:
    data = card_readers["demo"].read(pin="1234", payload=demo_payload(mynumber="1234-5678-9018"))
    assert data == CardData(
        name="山田　髙子",
        address="みどり市中央一丁目2番3号",
        birth_date=dt.date(1990, 4, 1),
        sex="2",
        mynumber=MYNUMBER,
        source="demo",
    )


@pytest.mark.parametrize(
    ("birth", "sex", "expected_sex"),
    [("平成2年4月1日", "女", "2"), ("H2.4.1", 1, "1"), ("1990/4/1", "9", "9")],
)
def test_demo_accepts_wareki_and_sex_words(birth: str, sex: Any, expected_sex: str) -> None:
    data = card_readers["demo"].read(pin="5678", payload=demo_payload(birth_date=birth, sex=sex))
    assert data.birth_date == dt.date(1990, 4, 1)
    assert data.sex == expected_sex
    assert data.mynumber == ""


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (None, NO_CARD),
        ("   ", NO_CARD),
        ("{not json", DATA_INVALID),
        ("[1, 2]", DATA_INVALID),
        (demo_payload(name=None), DATA_INVALID),
        (demo_payload(address="  "), DATA_INVALID),
        (demo_payload(name="山田\x00太郎"), DATA_INVALID),
        (demo_payload(address="あ" * 401), DATA_INVALID),
        (demo_payload(birth_date="2021-02-30"), DATA_INVALID),
        (demo_payload(birth_date="いつか"), DATA_INVALID),
        (demo_payload(birth_date="2999-01-01"), DATA_INVALID),
        (demo_payload(birth_date=19900401), DATA_INVALID),
        (demo_payload(sex="3"), DATA_INVALID),
        (demo_payload(sex=True), DATA_INVALID),
        (demo_payload(mynumber="123456789012"), DATA_INVALID),
        (demo_payload(mynumber=123456789018), DATA_INVALID),
        (demo_payload(kana="ヤマダ"), DATA_INVALID),
    ],
)
def test_demo_refuses_bad_payloads(payload: str | None, code: str) -> None:
    error = read_error(card_readers["demo"], payload=payload)
    assert error.code == code
    assert "123456789012" not in str(error)


def test_demo_wrong_pin_0000() -> None:
    error = read_error(card_readers["demo"], pin="0000", payload=demo_payload())
    assert error.code == PIN_WRONG
    assert error.remaining_tries == 2
    assert "あと2回" in error.message


@pytest.mark.parametrize("pin", ["123", "12345", "12a4", "１２３４", "", " 123"])
def test_demo_pin_must_be_4_digits(pin: str) -> None:
    error = read_error(card_readers["demo"], pin=pin, payload=demo_payload())
    assert error.code == PIN_FORMAT
    assert pin not in error.message or not pin


# ------------------------------------------------------------------------------------- pcsc
def test_pcsc_happy_path_keeps_every_character() -> None:
    expected = card_data()
    card = SimulatedCard.from_card(expected, pin=PIN)
    data = reader_for(card).read(pin=PIN)
    assert data == expected
    assert data.name == "髙﨑　𠮷太郎"
    # the order a real reader uses: AP, PIN EF, tries, VERIFY, 基本4情報, 個人番号
    assert [entry[:3] for entry in card.log[:4]] == [
        (mc.INS_SELECT, 0x04, 0x0C),
        (mc.INS_SELECT, 0x02, 0x0C),
        (mc.INS_VERIFY, 0x00, 0x80),
        (mc.INS_VERIFY, 0x00, 0x80),
    ]
    assert all(entry[3] in (0x9000, 0x63C3) for entry in card.log)


def test_pcsc_without_mynumber() -> None:
    card = SimulatedCard.from_card(card_data(mynumber=""), pin=PIN)
    data = reader_for(card, read_mynumber=False).read(pin=PIN)
    assert data.mynumber == ""
    assert card.count(mc.INS_READ_BINARY) == 2  # header, then the rest


def test_pcsc_wrong_pin_counts_down_then_locks() -> None:
    card = SimulatedCard.from_card(card_data(), pin=PIN)
    reader = reader_for(card)
    first = read_error(reader, pin="9999")
    assert (first.code, first.remaining_tries) == (PIN_WRONG, 2)
    assert "あと2回" in first.message
    second = read_error(reader, pin="9998")
    assert (second.code, second.remaining_tries) == (PIN_WRONG, 1)
    third = read_error(reader, pin="9997")
    assert (third.code, third.remaining_tries) == (PIN_LOCKED, 0)
    verifies_before = card.count(mc.INS_VERIFY)
    fourth = read_error(reader, pin=PIN)  # even the right PIN: the card is locked
    assert fourth.code == PIN_LOCKED
    assert card.count(mc.INS_VERIFY) == verifies_before + 1  # only the status query, no PIN sent


def test_pcsc_right_pin_resets_the_counter() -> None:
    card = SimulatedCard.from_card(card_data(), pin=PIN)
    reader = reader_for(card)
    assert read_error(reader, pin="0000").remaining_tries == 2
    assert reader.read(pin=PIN).name == "髙﨑　𠮷太郎"
    assert card.tries_left == mc.PIN_MAX_TRIES


def test_pcsc_card_locked_before_reading() -> None:
    card = SimulatedCard.from_card(card_data(), pin=PIN, tries_left=0)
    error = read_error(reader_for(card))
    assert error.code == PIN_LOCKED
    assert "ロック" in error.message


def test_pcsc_pin_format_is_checked_before_touching_the_card() -> None:
    card = SimulatedCard.from_card(card_data())
    assert read_error(reader_for(card), pin="12345").code == PIN_FORMAT
    assert card.log == []


def test_pcsc_ap_missing() -> None:
    card = SimulatedCard.from_card(card_data(), has_kenhojo_ap=False)
    assert read_error(reader_for(card)).code == AP_MISSING


class NoCardException(Exception):
    pass


class NoReadersException(Exception):
    pass


class CardConnectionException(Exception):
    pass


def raising(exc: BaseException) -> Any:
    def factory() -> Any:
        raise exc

    return factory


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (CardReadError(NO_READER), NO_READER),
        (NoReadersException(), NO_READER),
        (NoCardException("no card in reader"), NO_CARD),
        (TimeoutError(), TIMEOUT),
        (CardConnectionException("unresponsive"), IO_ERROR),
        (OSError("pcscd"), IO_ERROR),
    ],
)
def test_pcsc_factory_failures(exc: BaseException, code: str) -> None:
    error = read_error(PcscCardReader(connection_factory=raising(exc)))
    assert error.code == code
    assert error.message  # Japanese, for the clerk


def test_pcsc_card_removed_during_read() -> None:
    card = SimulatedCard.from_card(card_data(), pin=PIN)
    card.remove()
    assert read_error(reader_for(card)).code == IO_ERROR


def test_pcsc_timeout_during_read() -> None:
    card = SimulatedCard.from_card(card_data(), pin=PIN)

    class Slow:
        def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
            if apdu[1] == mc.INS_READ_BINARY:
                raise TimeoutError
            return card.transmit(apdu)

    assert read_error(PcscCardReader(connection_factory=Slow)).code == TIMEOUT


def test_pcsc_garbage_response_is_an_io_error() -> None:
    class Broken:
        def transmit(self, apdu: list[int]) -> Any:
            return None

    assert read_error(PcscCardReader(connection_factory=Broken)).code == IO_ERROR


def _valid_ef() -> bytes:
    data = card_data()
    return basic_four_ef(name=data.name, address=data.address, birth_date=data.birth_date, sex=data.sex)


def _items(*items: tuple[int, bytes]) -> bytes:
    return encode(mc.TAG_BASIC_FOUR, b"".join(encode(tag, value) for tag, value in items))


GOOD = [
    (mc.TAG_HEADER, b"\x00\x0d\x00\x20\x00\x40\x00\x50"),
    (mc.TAG_NAME, "山田太郎".encode()),
    (mc.TAG_ADDRESS, "みどり市".encode()),
    (mc.TAG_BIRTH, b"19900401"),
    (mc.TAG_SEX, b"1"),
]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(_valid_ef()[:-5], id="truncated"),
        pytest.param(_valid_ef()[:3], id="header-only"),
        pytest.param(b"", id="empty-ef"),
        pytest.param(b"\xff\x20", id="no-length"),
        pytest.param(b"\xff\x20\x80" + _valid_ef()[3:], id="indefinite-length"),
        pytest.param(b"\xff\x20\x82\x27\x10" + b"\x00" * 40, id="length-too-big"),
        pytest.param(b"\xff\x20\x85\x00\x00\x00\x00\x10", id="five-length-bytes"),
        pytest.param(_items(*GOOD).replace(b"\xff\x20", b"\xff\x21", 1), id="wrong-outer-tag"),
        pytest.param(b"\xdf\x20" + _items(*GOOD)[2:], id="primitive-outer"),
        pytest.param(_items(*GOOD[:4]), id="no-sex"),
        pytest.param(_items(*GOOD, (mc.TAG_NAME, "別人".encode())), id="duplicate-name"),
        pytest.param(_items(GOOD[0], (mc.TAG_NAME, b"\xe9\xab"), *GOOD[2:]), id="bad-utf8"),
        pytest.param(_items(GOOD[0], (mc.TAG_NAME, "山田\x00".encode()), *GOOD[2:]), id="nul-in-name"),
        pytest.param(_items(GOOD[0], (mc.TAG_NAME, b"   "), *GOOD[2:]), id="blank-name"),
        pytest.param(_items(*GOOD[:3], (mc.TAG_BIRTH, b"19901341"), GOOD[4]), id="bad-date"),
        pytest.param(_items(*GOOD[:3], (mc.TAG_BIRTH, b"29990101"), GOOD[4]), id="future-date"),
        pytest.param(_items(*GOOD[:4], (mc.TAG_SEX, b"3")), id="bad-sex"),
        pytest.param(_items(*GOOD[:2]) + b"\xdf\x23\x05ab", id="inner-runs-past-outer"),
        pytest.param(encode(mc.TAG_BASIC_FOUR, encode(mc.TAG_NAME, b"x") + b"\xdf"), id="dangling-tag"),
    ],
)
def test_pcsc_garbled_basic_four_is_data_invalid(raw: bytes) -> None:
    card = SimulatedCard.from_card(card_data(mynumber=""), pin=PIN, basic_four=raw)
    error = read_error(reader_for(card, read_mynumber=False))
    assert error.code == DATA_INVALID


def test_pcsc_birth_date_in_another_form_is_accepted() -> None:
    raw = _items(*GOOD[:3], (mc.TAG_BIRTH, "平成2年4月1日".encode()), GOOD[4])
    card = SimulatedCard.from_card(card_data(mynumber=""), pin=PIN, basic_four=raw)
    assert reader_for(card, read_mynumber=False).read(pin=PIN).birth_date == dt.date(1990, 4, 1)


@pytest.mark.parametrize(
    "raw",
    [
        encode(mc.TAG_MYNUMBER, b"123456789012"),  # wrong check digit
        encode(mc.TAG_MYNUMBER, b"12345678901"),  # 11 digits
        encode(0xD1, MYNUMBER.encode()),  # wrong tag
        encode(mc.TAG_MYNUMBER, MYNUMBER.encode())[:-2],  # truncated
    ],
)
def test_pcsc_garbled_mynumber_is_data_invalid(raw: bytes) -> None:
    card = SimulatedCard.from_card(card_data(), pin=PIN, mynumber_raw=raw)
    error = read_error(reader_for(card))
    assert error.code == DATA_INVALID
    assert MYNUMBER not in str(error)


def test_pcsc_mynumber_ef_missing() -> None:
    card = SimulatedCard.from_card(card_data(mynumber=""), pin=PIN)
    assert read_error(reader_for(card)).code == DATA_INVALID


LONG_ADDRESS = "北海道" + "𠮷野家通り髙﨑" * 28  # 199 characters, 4-byte characters among them


@pytest.mark.parametrize(
    ("max_response", "max_read", "le_mode", "padding"),
    [
        (256, 256, "eof", 0),
        (50, 256, "eof", 0),  # the card answers at most 50 bytes: the reader goes on from there
        (256, 16, "eof", 0),  # the reader asks for 16 bytes at a time
        (256, 256, "exact", 0),  # a card answering 6Cxx to an Le past the end
        (3, 5, "exact", 0),  # even the header comes in pieces
        (256, 256, "eof", 40),  # the EF is longer than its TLV (padding)
    ],
)
def test_pcsc_chunked_read_binary(max_response: int, max_read: int, le_mode: Any, padding: int) -> None:
    expected = card_data(address=LONG_ADDRESS)
    card = SimulatedCard.from_card(
        expected, pin=PIN, max_response=max_response, le_mode=le_mode, padding=padding
    )
    data = reader_for(card, max_read=max_read).read(pin=PIN)
    assert data == expected
    ef = card.files[mc.AID_KENHOJO][mc.EF_BASIC_FOUR]
    assert ef[:3] == b"\xff\x20\x82"  # a long address needs the 2-byte length form
    step = min(max_response, max_read)
    assert card.count(mc.INS_READ_BINARY) >= (len(ef) - padding) // step


# ------------------------------------------------------------------------ the simulated card
def sw(response: tuple[list[int], int, int]) -> int:
    return (response[1] << 8) | response[2]


def test_simulated_card_refuses_wrong_state() -> None:
    card = SimulatedCard.from_card(card_data(), pin=PIN)
    assert sw(card.transmit(mc.read_binary(0, 8))) == 0x6986  # nothing selected
    assert sw(card.transmit(mc.select_ef(mc.EF_BASIC_FOUR))) == 0x6A82  # no AP selected yet
    assert sw(card.transmit(mc.select_df(bytes.fromhex("D392100031000101FFFF")))) == 0x6A82
    assert sw(card.transmit(mc.select_df(mc.AID_JPKI))) == 0x9000
    assert sw(card.transmit(mc.select_ef(mc.EF_BASIC_FOUR))) == 0x6A82  # not in the JPKI AP
    assert sw(card.transmit(mc.select_df(mc.AID_KENHOJO))) == 0x9000
    assert sw(card.transmit(mc.select_ef(0x1234))) == 0x6A82
    assert sw(card.transmit(mc.verify(PIN))) == 0x6A88  # no PIN EF selected
    assert sw(card.transmit(mc.select_ef(mc.EF_BASIC_FOUR))) == 0x9000
    assert sw(card.transmit(mc.read_binary(0, 8))) == 0x6982  # PIN not verified
    assert sw(card.transmit(mc.select_ef(mc.EF_PIN))) == 0x9000
    assert sw(card.transmit(mc.read_binary(0, 8))) == 0x6981  # the PIN EF is not readable
    assert sw(card.transmit(mc.verify(None))) == 0x63C3
    assert sw(card.transmit(mc.verify("12345"[:3]))) == 0x6700  # wrong length, no try used
    assert sw(card.transmit(mc.verify(PIN))) == 0x9000
    assert sw(card.transmit([0x00, 0xCA, 0x00, 0x00, 0x00])) == 0x6D00
    assert sw(card.transmit([0x80, mc.INS_SELECT, 0x04, 0x0C, 0x01, 0x00])) == 0x6E00
    assert sw(card.transmit([0x00, mc.INS_SELECT, 0x09, 0x0C, 0x01, 0x00])) == 0x6A86
    assert sw(card.transmit([0x00, mc.INS_SELECT])) == 0x6700
    # READ BINARY by short EF identifier, then past the end
    data, sw1, sw2 = card.transmit([0x00, mc.INS_READ_BINARY, 0x80 | mc.EF_MYNUMBER, 0x00, 0x00])
    assert (sw1, sw2) == (0x62, 0x82)
    assert bytes(data) == mynumber_ef(MYNUMBER)
    assert sw(card.transmit(mc.read_binary(len(data), 1))) == 0x6B00
    # selecting the AP again drops the verified state
    assert sw(card.transmit(mc.select_df(mc.AID_KENHOJO))) == 0x9000
    assert sw(card.transmit(mc.select_ef(mc.EF_MYNUMBER))) == 0x9000
    assert sw(card.transmit(mc.read_binary(0, 14))) == 0x6982
    assert all(len(entry) == 4 for entry in card.log)  # (INS, P1, P2, SW): no command data kept


def test_simulated_card_header_offsets_point_at_the_items() -> None:
    ef = _valid_ef()
    outer, _ = parse_one(ef)
    header = outer.children()[0]
    assert header.tag == mc.TAG_HEADER
    offsets = [int.from_bytes(header.value[i : i + 2], "big") for i in range(0, len(header.value), 2)]
    tags = [parse_one(ef, offset)[0].tag for offset in offsets]
    assert tags == [mc.TAG_NAME, mc.TAG_ADDRESS, mc.TAG_BIRTH, mc.TAG_SEX]


# ------------------------------------------------------------------------------------- TLV
@pytest.mark.parametrize("length", [0, 1, 127, 128, 255, 256, 65535, 65536, 70000])
def test_tlv_length_forms_round_trip(length: int) -> None:
    value = bytes(length)
    item, end = parse_one(encode(0xDF22, value))
    assert (item.tag, item.value, end) == (0xDF22, value, len(encode(0xDF22, value)))
    assert len(encode_length(length)) == (
        1 if length < 128 else 2 if length < 256 else 3 if length < 65536 else 4
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"\xdf",
        b"\xdf\x22",
        b"\xdf\x22\x81",
        b"\xdf\x22\x05abc",
        b"\x1f\x80\x01\x00",
        b"\x1f\x81\x81\x81\x81\x01\x00",
    ],
)
def test_tlv_refuses_garbage(raw: bytes) -> None:
    with pytest.raises(TLVError):
        parse_all(raw)


# ------------------------------------------------------------------------- pyscard and config
class FakeReader:
    def __init__(self, name: str, card: SimulatedCard | None) -> None:
        self.name = name
        self.card = card

    def __str__(self) -> str:
        return self.name

    def createConnection(self) -> Any:
        reader = self

        class Connection:
            def connect(self) -> None:
                if reader.card is None:
                    raise NoCardException("no card")

            def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
                assert reader.card is not None
                return reader.card.transmit(apdu)

            def disconnect(self) -> None:
                pass

        return Connection()


@pytest.fixture
def fake_pyscard(monkeypatch: pytest.MonkeyPatch) -> list[FakeReader]:
    available: list[FakeReader] = []
    package = types.ModuleType("smartcard")
    system = types.ModuleType("smartcard.System")
    system.readers = lambda: list(available)  # type: ignore[attr-defined]
    package.System = system  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "smartcard", package)
    monkeypatch.setitem(sys.modules, "smartcard.System", system)
    return available


def test_pcsc_check_config_without_pyscard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "smartcard", None)
    problems = card_readers["pcsc"].check_config()
    assert len(problems) == 1 and "pyscard" in problems[0]
    assert read_error(card_readers["pcsc"]).code == DRIVER_MISSING


def test_pcsc_check_config_and_default_factory(
    fake_pyscard: list[FakeReader], monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = card_readers["pcsc"]
    assert plugin.check_config() == ["カードリーダーが接続されていません。"]
    assert read_error(plugin).code == NO_READER

    fake_pyscard.append(FakeReader("SONY FeliCa RC-S300/P 00 00", None))
    assert plugin.check_config() == []
    assert read_error(plugin).code == NO_CARD

    expected = card_data(source="pcsc")
    fake_pyscard.append(FakeReader("ACS ACR39U ICC Reader 01 00", SimulatedCard.from_card(expected, pin=PIN)))
    monkeypatch.setenv("MADOGUCHI_CARD_READER_NAME", "ACR39U")
    assert plugin.check_config() == []
    assert plugin.read(pin=PIN) == expected
    monkeypatch.setenv("MADOGUCHI_CARD_READER_NAME", "no such reader")
    assert len(plugin.check_config()) == 1
    with pytest.raises(CardReadError) as info:
        pyscard_connection()
    assert info.value.code == NO_READER


# ------------------------------------------------------------------------------------- property
KANJI = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK unified (JIS X 0208/0213 plane 1)
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),  # extension A
    st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),  # extension B (JIS X 0213 plane 2: 𠮷 …)
    st.characters(min_codepoint=0xF900, max_codepoint=0xFAFF),  # compatibility ideographs (﨑 …)
    st.sampled_from("髙﨑𠮷德彅𩸽塚逸辻󠄀葛󠄁"),  # incl. ideographic variation sequences
)
KANA = st.characters(min_codepoint=0x3041, max_codepoint=0x30FF)
ANY = st.characters(blacklist_categories=("Cc", "Cs"))
TEXT_CHARS = st.one_of(KANJI, KANA, ANY, st.sampled_from("　 ー－々〆ヶ"))


@st.composite
def mynumbers(draw: st.DrawFn) -> str:
    first11 = draw(st.text("0123456789", min_size=11, max_size=11))
    return first11 + str(mynumber_check_digit(first11))


@st.composite
def cards(draw: st.DrawFn) -> CardData:
    return CardData(
        name=draw(st.text(TEXT_CHARS, min_size=1, max_size=40).filter(str.strip)),
        address=draw(st.text(TEXT_CHARS, min_size=1, max_size=200).filter(str.strip)),
        birth_date=draw(st.dates(min_value=dt.date(1868, 1, 1), max_value=dt.date.today())),
        sex=draw(st.sampled_from(["1", "2", "9"])),
        mynumber=draw(st.one_of(st.just(""), mynumbers())),
        source="pcsc",
    )


@given(
    expected=cards(),
    max_response=st.sampled_from([1, 7, 64, 255, 256]),
    max_read=st.sampled_from([1, 16, 200, 256]),
    le_mode=st.sampled_from(["eof", "exact"]),
    padding=st.sampled_from([0, 3]),
)
def test_simulated_card_round_trips_through_the_plugin(
    expected: CardData, max_response: int, max_read: int, le_mode: Any, padding: int
) -> None:
    card = SimulatedCard.from_card(
        expected, pin="2468", max_response=max_response, le_mode=le_mode, padding=padding
    )
    reader = reader_for(card, read_mynumber=bool(expected.mynumber), max_read=max_read)
    assert reader.read(pin="2468") == expected
