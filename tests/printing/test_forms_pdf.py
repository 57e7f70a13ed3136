"""帳票: the session's forms as one PDF, read back with pypdfium2 (text, character boxes, fonts) and
rendered to PNG. MADOGUCHI_KEEP_PRINTS=1 keeps one family's pages under test-artifacts/printing/."""

from __future__ import annotations

import io
import os
import random
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from PIL import Image

from madoguchi.applications.models import Application
from madoguchi.applications.services import application_submit
from madoguchi.core.jp.wareki import to_wareki
from madoguchi.core.models import Municipality, Resident
from madoguchi.core.scope import Actor
from madoguchi.printing import form_pdf, forms_pdf
from madoguchi.printing.render import RefusedURL, resource_for

from .pdfcheck import (
    MM,
    font_descriptors,
    fonts_used,
    page_texts,
    pixel_variance,
    render_pages,
    save_pngs,
)

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")
SUBMITTED = datetime(2026, 11, 23, 9, 30, tzinfo=JST)
NAME = "髙﨑 太郎"
LONG_ADDRESS = (
    "架空県みどり市中央区本町三丁目十二番地四十五号 グランドメゾンみどりの森レジデンス南棟"
    "ＢａｙｓｉｄｅＴｅｒｒａｃｅ 1205号室 OceanViewResidenceTowerBuildingNumberTwelveAnnex"
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "printing"


def keep_prints() -> bool:
    return os.environ.get("MADOGUCHI_KEEP_PRINTS") == "1"


def submit(procedure: Any, data: dict[str, Any], *, channel: str, actor: Actor, **kw: Any) -> Application:
    return application_submit(
        procedure=procedure, data=data, channel=channel, actor=actor, submitted_at=SUBMITTED, **kw
    )


@pytest.fixture
def family(procedure: Any, handler: Actor, valid_data: dict[str, Any]) -> list[Application]:
    """One family's session: the parent's form at the counter (two children), a second online."""
    parent = dict(
        valid_data,
        name=NAME,
        name_kana="たかさき たろう",
        children=[{"child_name": "髙﨑 花子"}, {"child_name": "髙﨑 次郎", "child_mynumber": "123456789018"}],
    )
    other = dict(valid_data, name="山田 﨑子", children=[])
    return [
        submit(procedure, parent, channel="counter", actor=handler),
        submit(procedure, other, channel="online", actor=handler),
    ]


def test_family_forms_one_pdf(family: list[Application], municipality: Municipality) -> None:
    pdf = forms_pdf(applications=family, title="窓口 2026-11-23")
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    assert document.get_metadata_value("Title") == "窓口 2026-11-23"
    document.close()
    texts = page_texts(pdf)

    # one page set per application, in order, each starting with its own 受付番号 and footer 「1 / n」
    starts = [i for i, page in enumerate(texts) if "受付番号" in page.text]
    assert len(starts) == len(family) and starts[0] == 0
    for start, application in zip(starts, family, strict=True):
        assert application.reception_number in texts[start].text
    ends = [*starts[1:], len(texts)]
    for start, end in zip(starts, ends, strict=True):
        count = end - start
        for offset in range(count):
            assert f"{offset + 1} / {count}" in texts[start + offset].text
            assert "テスト手続 test-shinsei" in texts[start + offset].text  # footer: the procedure

    parent = "\n".join(page.text for page in texts[starts[0] : ends[0]])
    assert "テスト申請書" in parent
    assert to_wareki(date(2026, 11, 23)) == "令和8年11月23日"
    assert "令和8年11月23日" in parent
    assert "みどり市長" in parent and "様" in parent
    assert family[0].reception_number in parent
    assert NAME in parent and "髙﨑 花子" in parent  # 異体字 exactly as stored, not 高崎
    assert "児童 1" in parent and "児童 2" in parent
    assert "昭和60年4月1日" in parent
    assert "●●●●●●●●9018" in parent and "123456789018" not in parent
    assert "上記のとおり申請します。" in parent
    assert "署名: 窓口でタブレットに署名済み" in parent
    other = "\n".join(page.text for page in texts[starts[1] :])
    assert "山田 﨑子" in other and "署名欄" in other and "タブレットに署名済み" not in other

    images = render_pages(pdf)
    assert len(images) == len(texts)
    for image in images:
        assert image.size in {(595, 842), (596, 842)}  # A4 portrait (595.28 × 841.89 pt) at 72 dpi
        assert pixel_variance(image) > 50, "blank page"
    if keep_prints():
        paths = save_pngs(render_pages(pdf, scale=2), ARTIFACTS, "family")
        print(f"\nprints: {', '.join(str(p) for p in paths)}")


def test_fonts_are_embedded_noto_cjk(family: list[Application]) -> None:
    pdf = forms_pdf(applications=family)
    fonts = fonts_used(pdf)
    assert fonts
    for font in fonts:
        assert font.embedded and font.data_bytes > 0, font
        name = font.base_name.split("+")[-1].replace("-", "").replace(" ", "")  # ABCDEF+Noto-Sans-CJK-JP
        assert name.startswith(("NotoSansCJKJP", "NotoSerifCJKJP", "NotoSansMonoCJKJP")), font
    assert any("Serif" in f.base_name for f in fonts)  # headings
    descriptors = font_descriptors(pdf)
    assert descriptors
    for descriptor in descriptors:
        assert b"/FontFile2" in descriptor or b"/FontFile3" in descriptor, descriptor[:300]
        assert b"Noto" in descriptor
    # subsets, not the whole 16 MB collection
    assert len(pdf) < 1_500_000


def test_long_address_wraps_inside_the_page(
    procedure: Any, handler: Actor, municipality: Municipality, valid_data: dict[str, Any]
) -> None:
    resident = Resident.objects.create(
        municipality=municipality,
        resident_code="12345678901",
        name=NAME,
        name_kana="タカサキ タロウ",
        birth_date=date(1985, 4, 1),
        sex="1",
        postal_code="1000013",
        address=LONG_ADDRESS,
        household_code="H-1",
    )
    app = submit(procedure, dict(valid_data, name=NAME), channel="counter", actor=handler, applicant=resident)
    pdf = form_pdf(application=app)
    texts = page_texts(pdf)
    assert "〒100-0013" in texts[0].text
    joined = "".join(page.text for page in texts).replace("\r", "").replace("\n", "")
    assert "OceanViewResidence" in joined
    for page in texts:
        for char, left, _bottom, right, _top in page.boxes:
            assert left >= 20 * MM - 1, (char, left)  # left margin 20 mm
            assert right <= page.width - 16 * MM + 1, (char, right, page.width)  # right margin 16 mm
    # the address took more than one line
    lines = {
        round(bottom) for char, _l, bottom, _r, _t in texts[0].boxes if char in "グランドメゾンOceanView"
    }
    assert len(lines) >= 2


def test_single_form_and_empty_list(family: list[Application]) -> None:
    pdf = form_pdf(application=family[1])
    texts = page_texts(pdf)
    assert len(texts) >= 1 and family[1].reception_number in texts[0].text
    assert family[0].reception_number not in "".join(t.text for t in texts)
    with pytest.raises(ValueError):
        forms_pdf(applications=[])


def test_url_fetcher_serves_only_our_stylesheet() -> None:
    from madoguchi.printing.render import RESOURCE_DIR

    body, media_type = resource_for((RESOURCE_DIR / "forms.css").as_uri())
    assert media_type == "text/css" and b"@page" in body
    for url in [
        "https://fonts.googleapis.com/css2?family=Noto+Sans+JP",
        "http://127.0.0.1/forms.css",
        "data:text/css,body{}",
        "file:///etc/passwd",
        (RESOURCE_DIR / "forms.html").as_uri(),
        (RESOURCE_DIR / ".." / "printing" / ".." / ".." / "render.py").as_uri(),
        "file://evil.example/" + str(RESOURCE_DIR / "forms.css"),
    ]:
        with pytest.raises(RefusedURL):
            resource_for(url)


def test_every_catalog_procedure(municipality: Municipality, handler: Actor) -> None:
    from django.utils import timezone

    from madoguchi.applications.storage import blob_store
    from madoguchi.catalog.schema import parse_definition, validate_submission
    from madoguchi.catalog.services import procedure_load_fixtures
    from madoguchi.demo.generator import sample_submission
    from madoguchi.demo.services import PDF_SAMPLE

    procedures = procedure_load_fixtures(municipality=municipality)
    assert len(procedures) >= 30  # every bundled procedure (30 at the time of writing)
    resident = Resident.objects.create(
        municipality=municipality,
        resident_code="12345678902",
        name=NAME,
        name_kana="タカサキ タロウ",
        birth_date=date(1985, 4, 1),
        sex="1",
        postal_code="1000013",
        address=LONG_ADDRESS,
        household_code="H-2",
    )
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(png, format="PNG")
    files = [
        blob_store(content=PDF_SAMPLE, filename="添付書類.pdf").as_reference(),
        blob_store(content=png.getvalue(), filename="写真.png").as_reference(),
    ]
    today = timezone.localdate()
    rng = random.Random(5)
    applications = []
    for procedure in procedures:
        definition = parse_definition(procedure.current_form.definition)
        for _ in range(50):
            data = sample_submission(definition, rng=rng, today=today, resident=resident, files=files)
            result = validate_submission(definition, data, today=today)
            if result.ok:
                break
        else:
            raise AssertionError(f"no valid sample for {procedure.code}: {result.errors[:3]}")
        applications.append(
            application_submit(
                procedure=procedure,
                data=data,
                channel="counter",
                actor=Actor.system("counter"),
                applicant=resident,
            )
        )

    started = time.perf_counter()
    form_pdf(application=applications[0])  # the first print in a process also loads Pango and fonts
    first = time.perf_counter() - started
    started = time.perf_counter()
    pdf = forms_pdf(applications=applications, title="全手続")
    elapsed = time.perf_counter() - started
    texts = page_texts(pdf)
    print(
        f"\nfirst form in the process: {first:.2f} s; {len(applications)} procedures × 1 application "
        f"in one PDF: {elapsed:.2f} s ({elapsed / len(applications) * 1000:.0f} ms per form), "
        f"{len(texts)} pages, {len(pdf) / 1024:.0f} KiB"
    )

    starts = [i for i, page in enumerate(texts) if "受付番号" in page.text]
    assert len(starts) == len(applications)
    ends = [*starts[1:], len(texts)]
    for start, end, application, procedure in zip(starts, ends, applications, procedures, strict=True):
        text = "".join(page.text for page in texts[start:end]).replace("\r", "").replace("\n", "")
        title = parse_definition(procedure.current_form.definition).title
        assert title.replace(" ", "") in text.replace(" ", ""), procedure.code
        assert application.reception_number in text
        assert "令和" in text
        assert NAME in text, procedure.code
        assert procedure.name in texts[start].text  # footer
        for page in texts[start:end]:
            for char, left, _b, right, _t in page.boxes:
                assert 20 * MM - 1 <= left and right <= page.width - 16 * MM + 1, (procedure.code, char)
    for image in render_pages(pdf, scale=0.5):
        assert pixel_variance(image) > 20, "blank page"
    if keep_prints():
        save_pngs(render_pages(pdf, scale=1.5), ARTIFACTS, "catalog")


def test_rendering_never_opens_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A web font or a remote image slipped into the template is refused, not fetched."""
    import socket

    from weasyprint import HTML

    from madoguchi.printing.render import RESOURCE_DIR, _fetcher

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the renderer tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    html = (
        '<html lang="ja"><head><link rel="stylesheet" href="forms.css">'
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Noto+Sans+JP">'
        "<style>@font-face { font-family: X; src: url(http://127.0.0.1:9/x.woff2) }</style></head>"
        '<body style="font-family: X, Noto Sans CJK JP"><img src="http://127.0.0.1:9/logo.png">'
        '<img src="file:///etc/hostname">髙﨑</body></html>'
    )
    pdf = HTML(string=html, base_url=RESOURCE_DIR.as_uri() + "/", url_fetcher=_fetcher()).write_pdf()
    assert "髙﨑" in page_texts(pdf)[0].text
