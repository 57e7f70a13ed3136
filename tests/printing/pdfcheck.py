"""Reading a printed PDF back with pypdfium2: page text, character boxes, rendered pages, fonts."""

from __future__ import annotations

import ctypes
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageStat

MM = 72 / 25.4  # PDF points per millimetre


@dataclass
class PageText:
    text: str
    width: float
    height: float
    #: (char, left, bottom, right, top) for every character that has a box
    boxes: list[tuple[str, float, float, float, float]]


def page_texts(pdf: bytes) -> list[PageText]:
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for i in range(len(doc)):
            page = doc[i]
            width, height = page.get_size()
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            boxes = []
            for index in range(textpage.count_chars()):
                char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
                if char.isspace() or not char.isprintable():
                    continue
                left, bottom, right, top = textpage.get_charbox(index)
                boxes.append((char, left, bottom, right, top))
            out.append(PageText(text, width, height, boxes))
        return out
    finally:
        doc.close()


def render_pages(pdf: bytes, *, scale: float = 1.0) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=scale).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def pixel_variance(image: Image.Image) -> float:
    return float(ImageStat.Stat(image).var[0])


@dataclass(frozen=True)
class FontInfo:
    base_name: str
    embedded: bool
    data_bytes: int


def fonts_used(pdf: bytes) -> set[FontInfo]:
    """Every font a text object on any page uses, as pdfium sees it (embedded = the font descriptor
    has a FontFile, FontFile2 or FontFile3 that pdfium loaded)."""
    doc = pdfium.PdfDocument(pdf)
    found: set[FontInfo] = set()
    try:
        for i in range(len(doc)):
            for obj in doc[i].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]):
                font = pdfium_c.FPDFTextObj_GetFont(obj.raw)
                size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
                buf = ctypes.create_string_buffer(size)
                pdfium_c.FPDFFont_GetBaseFontName(font, buf, size)
                needed = ctypes.c_size_t(0)
                pdfium_c.FPDFFont_GetFontData(font, None, 0, ctypes.byref(needed))
                found.add(
                    FontInfo(
                        buf.value.decode("utf-8", "replace"),
                        bool(pdfium_c.FPDFFont_GetIsEmbedded(font)),
                        needed.value,
                    )
                )
    finally:
        doc.close()
    return found


def font_descriptors(pdf: bytes) -> list[bytes]:
    """The raw /FontDescriptor dictionaries, also those inside compressed object streams."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        start = match.end()
        end = pdf.find(b"endstream", start)
        try:
            chunks.append(zlib.decompress(pdf[start:end]))
        except zlib.error:
            continue
    found = []
    for chunk in chunks:
        for match in re.finditer(rb"<<(?:(?!<<|>>).)*?/Type\s*/FontDescriptor(?:(?!<<|>>).)*>>", chunk, re.S):
            found.append(match.group(0))
    return found


def save_pngs(images: list[Image.Image], folder: Path, stem: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, image in enumerate(images, start=1):
        path = folder / f"{stem}-{number:02d}.png"
        image.save(path)
        paths.append(path)
    return paths
