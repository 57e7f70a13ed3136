"""Intake formats: one plugin per package format (the real ぴったりサービス format is published only
inside LGWAN, so each deployment registers the one it receives). See docs/formats/pittari-v1.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from madoguchi.core.registry import Plugin, Registry


@dataclass(frozen=True)
class Attachment:
    ref: str  # path inside the package
    filename: str  # the applicant's file name
    mime: str
    content: bytes


@dataclass(frozen=True)
class Signer:
    serial: str  # upper-case hex (pki.serial_text)
    issuer: str  # RFC 4514
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime


@dataclass
class IntakePackage:
    """What a format plugin hands to the importer: checked, signed and self-consistent."""

    format_key: str
    package_sha256: str
    external_id: str  # the sender's 申請番号
    procedure_code: str  # 手続ID
    form_version: int
    municipality_code: str
    sent_at: dt.datetime
    signed_at: dt.datetime
    data: dict[str, Any]  # keyed by the catalog's field ids; file fields hold Attachment.ref strings
    attachments: dict[str, Attachment] = field(default_factory=dict)
    signer: Signer | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.format_key}:{self.external_id}"[:100]


class IntakeFormat(Plugin):
    """The contract of an intake format.

    ``read(content)`` turns the bytes of one package into an ``IntakePackage`` or raises
    ``PackageRejected`` with a documented code. It must not touch the database or the network, must
    treat every byte as hostile (zip and XML limits) and must verify integrity and the signature
    (chaining to the configured trust anchors, at the signing time, against the CRLs) before returning.
    ``check_config()`` lists what an operator must fix (e.g. no trust anchors, an expired CRL).
    ``suffixes`` are the file name endings the importer picks up from a folder.
    """

    verbose_name = ""
    suffixes: tuple[str, ...] = (".zip",)

    def read(self, content: bytes) -> IntakePackage:
        raise NotImplementedError


formats: Registry[IntakeFormat] = Registry("intake formats")


def format_get(key: str = "pittari-v1") -> IntakeFormat:
    from madoguchi.intake.formats import pittari_v1  # noqa: F401  (registers itself)

    return formats[key]
