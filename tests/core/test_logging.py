"""Log lines never carry a 個人番号: any 12-digit run (with or without separators, half- or full-width)
standing on its own is redacted — but not the digits inside a hash, which would corrupt it."""

from __future__ import annotations

import hashlib
import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.logging import JsonFormatter, redact

digits = st.text(alphabet="0123456789", min_size=12, max_size=12)
separator = st.sampled_from(["", " ", "-"])
around = st.sampled_from(["", " ", "個人番号:", "番号は", "（", "mynumber=", "\n", "、"])


@given(number=digits, sep=separator, before=around, after=st.sampled_from(["", " ", "です", "）", "。"]))
def test_a_standalone_12_digit_number_is_redacted(number: str, sep: str, before: str, after: str) -> None:
    written = sep.join([number[:4], number[4:8], number[8:]])
    out = redact(f"{before}{written}{after}")
    assert number not in out.replace(sep, "") if sep else number not in out
    assert "[個人番号秘匿]" in out


@given(number=digits)
def test_full_width_digits_are_redacted_too(number: str) -> None:
    wide = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert redact(f"番号 {wide}") == "番号 [個人番号秘匿]"


@given(data=st.binary(min_size=1, max_size=64))
def test_hashes_are_left_alone(data: bytes) -> None:
    for digest in (hashlib.sha256(data).hexdigest(), hashlib.sha256(data).hexdigest().upper()):
        assert redact(f"hash {digest} ok") == f"hash {digest} ok"


def test_json_lines_redact_message_and_audit_detail() -> None:
    record = logging.LogRecord("madoguchi.audit", logging.INFO, __file__, 1, "read 1234 5678 9012", None, None)
    record.audit = {"detail": {"note": "個人番号 123456789012"}, "hash": "ab" + "123456789012" * 5 + "cd"}
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "read [個人番号秘匿]"
    assert line["audit"]["detail"]["note"] == "個人番号 [個人番号秘匿]"
    assert line["audit"]["hash"] == "ab" + "123456789012" * 5 + "cd"
