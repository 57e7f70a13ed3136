"""Applications → one PDF of 申請書/届書 in Japanese layout, through WeasyPrint.

Each application is rendered as its own WeasyPrint document (so its footer counts 「1 / 2」 within the
form and its first page is always a new sheet), then the pages are put together into one PDF. The
rows come from ``catalog.schema.display_rows``, the same rows staff read on the 転記 page: 和暦
dates, a masked 個人番号, choice labels, 「児童 1」 headings for repeating groups.

No network: fonts are the system's (fontconfig; Noto Sans/Serif CJK JP from fonts-noto-cjk), WeasyPrint
embeds the subsets it uses, and the URL fetcher hands out only the files in this package's
``templates/printing/`` (the stylesheet); every other URL is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from django.template import Context, Engine
from django.utils import timezone

from madoguchi.catalog.schema import DisplayRow, FormDefinition, display_rows, parse_definition
from madoguchi.core.jp.wareki import to_wareki

if TYPE_CHECKING:
    from madoguchi.applications.models import Application

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
RESOURCE_DIR = TEMPLATE_DIR / "printing"
TEMPLATE_NAME = "printing/forms.html"
#: the files the URL fetcher may hand out (everything else, local or remote, is refused)
RESOURCES: Mapping[str, str] = {"forms.css": "text/css"}
OTHER_SECTION = "その他の記載事項"


@dataclass
class Entry:
    """One row of a section's table, or a group item (「児童 1」) holding its own rows."""

    label: str
    value: str = ""
    kind: str = ""
    is_empty: bool = False
    is_secret: bool = False
    children: list[Entry] = field(default_factory=list)

    @property
    def is_group_item(self) -> bool:
        return self.kind == "group_item"


@dataclass
class SectionBlock:
    title: str
    entries: list[Entry]


@dataclass
class FormSheet:
    """Everything the template needs for one application."""

    title: str
    description: str
    addressee: str
    date: str
    reception_number: str
    procedure_name: str
    department_name: str
    channel_label: str
    applicant_name: str
    applicant_kana: str
    applicant_postal_code: str
    applicant_address: str
    sections: list[SectionBlock]
    signed_at_counter: bool


def forms_pdf(*, applications: Sequence[Application], title: str = "") -> bytes:
    """All ``applications`` as one PDF: each its own 申請書 starting on a new page, in the given order.
    ``title`` is the PDF's document title (default: the form's title, or 「申請書 N件」)."""
    if not applications:
        raise ValueError("forms_pdf needs at least one application")
    definitions: dict[int, FormDefinition] = {}
    return sheets_pdf(
        sheets=[form_sheet(application=a, definitions=definitions) for a in applications], title=title
    )


def sheets_pdf(*, sheets: Sequence[FormSheet], title: str = "") -> bytes:
    """The PDF of prepared sheets (``form_sheet``): the same bytes for the same sheets, whenever."""
    if not sheets:
        raise ValueError("sheets_pdf needs at least one sheet")
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fetcher = _fetcher()
    documents = [_render(sheet, font_config=font_config, fetcher=fetcher) for sheet in sheets]
    pages = [page for document in documents for page in document.pages]
    combined = documents[0].copy(pages)
    if title:
        combined.metadata.title = title
    elif len(documents) > 1:
        combined.metadata.title = f"申請書 {len(documents)}件"
    combined.metadata.lang = "ja"
    combined.metadata.generator = "Madoguchi"
    pdf = combined.write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def sheets_digest(sheets: Sequence[FormSheet]) -> str:
    """A digest of everything the sheets print: equal digests, equal forms (used to check that a PDF
    rendered ahead of time still shows exactly what was filed)."""
    payload = json.dumps([asdict(sheet) for sheet in sheets], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def form_pdf(*, application: Application) -> bytes:
    """One application's 申請書 as a PDF."""
    return forms_pdf(applications=[application])


def form_sheet(
    *, application: Application, definitions: dict[int, FormDefinition] | None = None
) -> FormSheet:
    """The template context of one application (kept apart from rendering so it can be tested and
    reused, e.g. for an HTML preview)."""
    cache_ = definitions if definitions is not None else {}
    definition = cache_.get(application.form_version_id)
    if definition is None:
        definition = parse_definition(application.form_version.definition)
        cache_[application.form_version_id] = definition
    data = application.data if isinstance(application.data, Mapping) else {}
    rows = display_rows(definition, data)
    by_path = {row.path: row for row in rows}
    prefilled = _prefilled_paths(definition)

    def from_form(key: str) -> str:
        path = prefilled.get(key)
        row = by_path.get(path) if path else None
        return row.display if row is not None and not row.is_empty else ""

    resident = application.applicant
    procedure = application.procedure
    submitted = timezone.localtime(application.submitted_at).date()
    return FormSheet(
        title=definition.title,
        description=definition.description or "",
        addressee=f"{application.municipality.name}長",
        date=to_wareki(submitted),
        reception_number=application.reception_number,
        procedure_name=procedure.name,
        department_name=application.department.name,
        channel_label=str(application.get_channel_display()),
        applicant_name=from_form("resident.name") or application.applicant_name,
        applicant_kana=from_form("resident.name_kana") or application.applicant_kana,
        applicant_postal_code=from_form("resident.postal_code")
        or (_postal(resident.postal_code) if resident is not None and resident.postal_code else ""),
        applicant_address=from_form("resident.address") or (resident.address if resident is not None else ""),
        sections=_sections(rows),
        signed_at_counter=application.channel == "counter",
    )


def _prefilled_paths(definition: FormDefinition) -> dict[str, str]:
    """The top-level field filled from each of the resident's 基本4情報 (the applicant's own)."""
    paths: dict[str, str] = {}
    for _, f in definition.top_level_fields():
        if f.prefill and f.prefill not in paths:
            paths[f.prefill] = f.id
    return paths


def _postal(code: str) -> str:
    return f"〒{code[:3]}-{code[3:]}" if len(code) == 7 and code.isdigit() else code


def _sections(rows: Sequence[DisplayRow]) -> list[SectionBlock]:
    blocks: list[SectionBlock] = []
    run: list[DisplayRow] = []
    current: str | None = None
    for row in rows:
        title = row.section_title or OTHER_SECTION
        if run and title != current:
            blocks.append(SectionBlock(current or OTHER_SECTION, _nest(run)))
            run = []
        current = title
        run.append(row)
    if run:
        blocks.append(SectionBlock(current or OTHER_SECTION, _nest(run)))
    return blocks


def _nest(rows: Sequence[DisplayRow]) -> list[Entry]:
    """Flat rows (with depths) → entries where each 「児童 1」 holds the rows under it."""
    entries: list[Entry] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        if row.kind == "group_item":
            j = i + 1
            while j < len(rows) and rows[j].depth > row.depth:
                j += 1
            entries.append(Entry(label=row.label, kind=row.kind, children=_nest(rows[i + 1 : j])))
            i = j
            continue
        entries.append(
            Entry(
                label=row.label,
                value=row.display,
                kind=row.kind,
                is_empty=row.is_empty,
                is_secret=row.is_secret,
            )
        )
        i += 1
    return entries


@cache
def _engine() -> Engine:
    # A template engine of its own: the layout renders the same whether or not the app is installed,
    # and no context processor (request, user) can leak into a printed form.
    return Engine(dirs=[str(TEMPLATE_DIR)], autoescape=True)


def render_html(sheet: FormSheet) -> str:
    return _engine().get_template(TEMPLATE_NAME).render(Context({"sheet": sheet}))


def _render(sheet: FormSheet, *, font_config: Any, fetcher: Any) -> Any:
    from weasyprint import HTML

    html = HTML(string=render_html(sheet), base_url=RESOURCE_DIR.as_uri() + "/", url_fetcher=fetcher)
    return html.render(font_config=font_config)


class RefusedURL(ValueError):
    pass


def resource_for(url: str) -> tuple[bytes, str]:
    """The bytes and media type of one of our own files, or ``RefusedURL``."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise RefusedURL(f"帳票は外部の資源を読みません: {url}")
    path = Path(unquote(parts.path))
    if path.parent != RESOURCE_DIR or path.name not in RESOURCES:
        raise RefusedURL(f"帳票は外部の資源を読みません: {url}")
    return path.read_bytes(), RESOURCES[path.name]


@cache
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class OwnResourcesOnly(URLFetcher):
        """Serves this package's stylesheet; refuses every other URL (http, data, other files)."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            try:
                body, media_type = resource_for(url)
            except RefusedURL:
                logger.warning("printing: refused resource %s", url[:200])
                raise
            return URLFetcherResponse(url, body, {"Content-Type": f"{media_type}; charset=utf-8"})

    return OwnResourcesOnly


def _fetcher() -> Any:
    return _fetcher_class()()


def url_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses every URL but this package's stylesheet (other printed
    documents, e.g. the DX推進 report, embed everything inline and fetch nothing)."""
    return _fetcher()
