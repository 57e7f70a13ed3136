"""A small, strict BER-TLV reader and writer (ISO/IEC 7816-4 / X.690 tag and length forms).

Only what the 券面事項入力補助AP needs: multi-byte tags, short and long definite lengths (up to 4
length bytes). Indefinite lengths, lengths running past the data and non-minimal oddities that can
only come from a garbled read are refused with :class:`TLVError`.
"""

from __future__ import annotations

from dataclasses import dataclass


class TLVError(ValueError):
    """The bytes are not well-formed BER-TLV (truncated, garbled, or too long)."""


@dataclass(frozen=True)
class TLV:
    tag: int  # the tag bytes as one integer, e.g. 0xFF20, 0xDF22, 0xD0
    value: bytes
    constructed: bool

    def children(self) -> list[TLV]:
        if not self.constructed:
            raise TLVError("primitive TLV has no children")
        return parse_all(self.value)


def read_header(data: bytes, offset: int = 0) -> tuple[int, bool, int, int]:
    """Parse the tag and length at ``offset``: ``(tag, constructed, header_length, value_length)``.

    Raises :class:`TLVError` when the header itself is incomplete or invalid (the value may still be
    missing: the caller compares ``header_length + value_length`` with what it has).
    """
    pos = offset
    if pos >= len(data):
        raise TLVError("missing tag")
    first = data[pos]
    pos += 1
    tag = first
    constructed = bool(first & 0x20)
    if first & 0x1F == 0x1F:  # high tag number form: more tag bytes while bit 8 is set
        for count in range(3):
            if pos >= len(data):
                raise TLVError("truncated tag")
            byte = data[pos]
            pos += 1
            if count == 0 and byte == 0x80:
                raise TLVError("invalid tag")
            tag = (tag << 8) | byte
            if not byte & 0x80:
                break
        else:
            raise TLVError("tag too long")
    if pos >= len(data):
        raise TLVError("missing length")
    length_byte = data[pos]
    pos += 1
    if length_byte < 0x80:
        length = length_byte
    elif length_byte == 0x80:
        raise TLVError("indefinite length")
    else:
        count = length_byte & 0x7F
        if count > 4:
            raise TLVError("length too long")
        if pos + count > len(data):
            raise TLVError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, constructed, pos - offset, length


def parse_one(data: bytes, offset: int = 0) -> tuple[TLV, int]:
    """One TLV at ``offset`` and the offset just after it."""
    tag, constructed, header_length, length = read_header(data, offset)
    start = offset + header_length
    end = start + length
    if end > len(data):
        raise TLVError("value runs past the data")
    return TLV(tag=tag, value=bytes(data[start:end]), constructed=constructed), end


def parse_all(data: bytes) -> list[TLV]:
    """Every TLV in ``data``, back to back; anything left over that is not a TLV is an error."""
    items: list[TLV] = []
    offset = 0
    while offset < len(data):
        item, offset = parse_one(data, offset)
        items.append(item)
    return items


def encode_length(length: int) -> bytes:
    if length < 0:
        raise ValueError("negative length")
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    if size > 4:
        raise ValueError("length too large")
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def encode(tag: int, value: bytes) -> bytes:
    """``tag`` (as its bytes, e.g. 0xDF22) + the shortest definite length + ``value``."""
    tag_bytes = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    return tag_bytes + encode_length(len(value)) + value
