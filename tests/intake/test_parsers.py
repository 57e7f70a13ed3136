"""Property tests for the parsers: any bytes give data or a documented PackageRejected, never a crash."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from madoguchi.intake.errors import REJECTION_CODES, PackageRejected
from madoguchi.intake.formats.pittari_v1 import NS, Q, data_to_items, items_to_data, manifest_parse
from madoguchi.intake.safexml import xml_decode, xml_parse
from madoguchi.intake.safezip import zip_read

XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=30
)
IDS = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
SCALAR = st.one_of(XML_TEXT, st.booleans(), st.integers(-(10**12), 10**12), st.lists(XML_TEXT, max_size=3))
DATA = st.recursive(
    st.dictionaries(IDS, SCALAR, max_size=4),
    lambda inner: st.dictionaries(IDS, st.one_of(SCALAR, st.lists(inner, min_size=1, max_size=3)), max_size=4),
    max_leaves=12,
)


def _rejected_or(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except PackageRejected as exc:
        assert exc.code in REJECTION_CODES


@settings(max_examples=80)
@given(DATA)
def test_items_round_trip(data: dict[str, Any]) -> None:
    root = etree.Element(f"{Q}Application", nsmap={None: NS})
    data_to_items(root, data, {})
    parsed = items_to_data(etree.fromstring(etree.tostring(root, encoding="UTF-8")), {})
    assert parsed == data


@settings(max_examples=150)
@given(st.binary(max_size=400))
def test_zip_reader_never_crashes(raw: bytes) -> None:
    _rejected_or(zip_read, raw)


@settings(max_examples=60)
@given(st.dictionaries(st.sampled_from(["a", "../a", "/b", "c/../../d", "ok/e.pdf"]), st.binary(max_size=50),
                       min_size=1))
def test_zip_names(members: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    try:
        out = zip_read(buf.getvalue())
    except PackageRejected as exc:
        assert exc.code == "zip.path_traversal"
    else:
        assert all(".." not in n and not n.startswith("/") for n in out)


@settings(max_examples=150)
@given(st.binary(max_size=300))
def test_xml_parser_never_crashes(raw: bytes) -> None:
    _rejected_or(xml_parse, raw)
    _rejected_or(manifest_parse, raw)


@settings(max_examples=100)
@given(XML_TEXT, st.sampled_from(["UTF-8", "Shift_JIS", "cp932"]))
def test_declared_encoding_decodes(text: str, encoding: str) -> None:
    try:
        raw = f'<?xml version="1.0" encoding="{encoding}"?><a>{text}</a>'.encode("utf-8" if encoding == "UTF-8" else "cp932")
    except UnicodeEncodeError:
        return
    if encoding != "UTF-8" and text.encode("cp932").decode("cp932") != text:
        return  # Python's cp932 encodes some characters one way only (¬ → 0x81CA → ￢): not a round trip
    assert xml_decode(raw) == f"<a>{text}</a>"
