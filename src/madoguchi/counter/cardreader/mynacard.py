"""What the マイナンバーカード's 券面事項入力補助AP looks like on the wire: AIDs, file ids, tags and
status words, shared by the ``pcsc`` plugin and the simulated card. Sources: docs/formats/card-reader.md.
"""

from __future__ import annotations

# Application identifiers (SELECT by DF name: 00 A4 04 0C Lc AID)
AID_KENHOJO = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
AID_KENKAKU = bytes.fromhex("D3921000310001010402")  # 券面事項確認AP (券面AP)
AID_JPKI = bytes.fromhex("D392F000260100000001")  # 公的個人認証AP

# Elementary files inside the 券面事項入力補助AP (SELECT EF: 00 A4 02 0C 02 FID)
EF_MYNUMBER = 0x0001  # 個人番号 (PIN-protected)
EF_BASIC_FOUR = 0x0002  # 基本4情報 (PIN-protected)
EF_SIGNATURE = 0x0003  # hashes of 0001/0002 and a signature over them (not read here)
EF_PIN = 0x0011  # 券面事項入力補助用暗証番号 (4 digits)

PIN_MAX_TRIES = 3  # the 券面事項入力補助用暗証番号 locks after 3 wrong entries

# TLV tags (BER, private class)
TAG_BASIC_FOUR = 0xFF20  # constructed, private 32: the whole 基本4情報 record
TAG_HEADER = 0xDF21  # private 33: header (16-bit big-endian offsets of the items)
TAG_NAME = 0xDF22  # private 34: 氏名, UTF-8
TAG_ADDRESS = 0xDF23  # private 35: 住所, UTF-8
TAG_BIRTH = 0xDF24  # private 36: 生年月日, "YYYYMMDD"
TAG_SEX = 0xDF25  # private 37: 性別, ISO/IEC 5218 digit
TAG_MYNUMBER = 0xD0  # private 16: 個人番号, 12 ASCII digits

# Instructions
INS_SELECT = 0xA4
INS_VERIFY = 0x20
INS_READ_BINARY = 0xB0

# Status words
SW_OK = (0x90, 0x00)
SW_END_OF_FILE = (0x62, 0x82)  # fewer bytes than Le: end of file reached
SW_WRONG_LENGTH = (0x67, 0x00)
SW_INCOMPATIBLE_FILE = (0x69, 0x81)  # command incompatible with file structure
SW_SECURITY_NOT_SATISFIED = (0x69, 0x82)
SW_PIN_BLOCKED = (0x69, 0x83)  # authentication method blocked
SW_NO_CURRENT_EF = (0x69, 0x86)
SW_WRONG_DATA = (0x6A, 0x80)
SW_FILE_NOT_FOUND = (0x6A, 0x82)
SW_WRONG_P1P2 = (0x6A, 0x86)
SW_REFERENCE_NOT_FOUND = (0x6A, 0x88)
SW_OFFSET_OUT_OF_RANGE = (0x6B, 0x00)
SW_INS_NOT_SUPPORTED = (0x6D, 0x00)
SW_CLA_NOT_SUPPORTED = (0x6E, 0x00)
SW1_WRONG_LE = 0x6C  # 6Cxx: wrong Le, xx = the exact number of bytes available
SW1_PIN_TRIES = 0x63  # 63Cx: verification failed / x tries left


def select_df(aid: bytes) -> list[int]:
    return [0x00, INS_SELECT, 0x04, 0x0C, len(aid), *aid]


def select_ef(fid: int) -> list[int]:
    return [0x00, INS_SELECT, 0x02, 0x0C, 0x02, (fid >> 8) & 0xFF, fid & 0xFF]


def verify(pin: str | None) -> list[int]:
    """VERIFY against the current EF; ``None`` asks for the number of tries left (no data)."""
    if pin is None:
        return [0x00, INS_VERIFY, 0x00, 0x80]
    data = pin.encode("ascii")
    return [0x00, INS_VERIFY, 0x00, 0x80, len(data), *data]


def read_binary(offset: int, length: int) -> list[int]:
    """READ BINARY of the current EF at a 15-bit ``offset``; ``length`` 1..256 (256 is Le=00)."""
    if not 0 <= offset <= 0x7FFF:
        raise ValueError("offset out of range")
    if not 1 <= length <= 256:
        raise ValueError("length out of range")
    return [0x00, INS_READ_BINARY, (offset >> 8) & 0x7F, offset & 0xFF, length & 0xFF]
