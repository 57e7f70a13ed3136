"""Decoding and parsing an untrusted XML document: declared encoding only (UTF-8 or Shift_JIS/cp932),
no DTD, no entities, no external references, never any network access."""

from __future__ import annotations

import re

from lxml import etree

from madoguchi.intake.errors import PackageRejected

_DECL = re.compile(rb"^<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# declared name (lower case) -> codec. Shift_JIS is decoded as cp932, its Windows superset, as in
# practice: files declared Shift_JIS carry NEC/IBM extension characters (①, 髙, 﨑 …).
ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "cp932": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
}
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
    remove_pis=False,
)


def xml_decode(raw: bytes) -> str:
    """The document as text. Without a declaration it must be UTF-8 (the XML default)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:4] in {b"<\x00?\x00", b"\x00<\x00?"}:
        raise PackageRejected("encoding.unsupported", "UTF-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    decl = _DECL.match(raw)
    declared = None
    if decl:
        m = _ENCODING.search(decl.group(0))
        declared = m.group(1).decode("ascii").lower() if m else None
    codec = "utf-8" if declared is None else ENCODINGS.get(declared)
    if codec is None:
        raise PackageRejected("encoding.unsupported", f"({declared})")
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        if declared is None:
            raise PackageRejected("encoding.undeclared") from None
        raise PackageRejected("encoding.invalid", f"({declared})") from None
    return text[len(decl.group(0).decode("ascii")) :] if decl else text


def xml_parse(raw: bytes) -> etree._Element:
    """Decode by the declared encoding and parse safely; PackageRejected with the reason otherwise."""
    text = xml_decode(raw)
    upper = text.upper()
    if "<!ENTITY" in upper:
        raise PackageRejected("xml.entity_forbidden")
    if "<!DOCTYPE" in upper:
        if re.search(r"<!DOCTYPE[^>\[]*\b(SYSTEM|PUBLIC)\b", text, re.IGNORECASE):
            raise PackageRejected("xml.external_reference", "DOCTYPE SYSTEM/PUBLIC")
        raise PackageRejected("xml.dtd_forbidden")
    if "<?XML-STYLESHEET" in upper:
        raise PackageRejected("xml.external_reference", "xml-stylesheet")
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise PackageRejected("xml.malformed", str(exc)[:120]) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise PackageRejected("xml.dtd_forbidden")
    for el in root.iter():
        if isinstance(el, etree._Entity):
            raise PackageRejected("xml.entity_forbidden")
        if isinstance(el.tag, str) and el.tag.startswith("{http://www.w3.org/2001/XInclude}"):
            raise PackageRejected("xml.external_reference", "XInclude")
    return root
