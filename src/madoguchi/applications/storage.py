"""Content-addressed attachment storage with MIME sniffing and size limits.

Files are written to ``DATA_DIR/blobs/ab/cd/<sha256>`` through a temporary file and an atomic
rename, so a crash never leaves a half-written blob under its final name. The same bytes are stored
once however many applications refer to them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from django.conf import settings

from madoguchi.applications.models import Blob
from madoguchi.core.errors import AttachmentRejected

MIME_LABELS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG画像",
    "image/png": "PNG画像",
    "image/heic": "HEIC画像",
    "image/tiff": "TIFF画像",
}


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    mime: str
    filename: str

    def as_reference(self) -> dict[str, object]:
        """The value a form's file field holds (see catalog.schema)."""
        return {"sha256": self.sha256, "filename": self.filename, "mime": self.mime, "size": self.size}


def blob_path(sha256: str) -> Path:
    return Path(settings.DATA_DIR) / "blobs" / sha256[:2] / sha256[2:4] / sha256


def sniff_mime(content: bytes) -> str | None:
    kind = filetype.guess(content[:8192])
    return kind.mime if kind else None


def attachment_check(
    *,
    content: bytes,
    filename: str,
    declared_mime: str | None = None,
    allowed: list[str] | None = None,
    max_bytes: int | None = None,
) -> str:
    """Validate an upload; return its sniffed MIME type or raise AttachmentRejected with the reason."""
    limit = max_bytes or settings.MADOGUCHI_ATTACHMENT_MAX_BYTES
    allowed = allowed or settings.MADOGUCHI_ATTACHMENT_TYPES
    if not content:
        raise AttachmentRejected(f"「{filename}」は空のファイルです。", code="attachment.empty")
    if len(content) > limit:
        raise AttachmentRejected(
            f"「{filename}」は {len(content) / 1048576:.1f}MB あり、上限 {limit / 1048576:.0f}MB を超えています。",
            code="attachment.too_large",
        )
    mime = sniff_mime(content)
    if mime is None or mime not in allowed:
        kinds = "、".join(MIME_LABELS.get(m, m) for m in allowed)
        raise AttachmentRejected(
            f"「{filename}」は受け付けられない形式です。{kinds} のいずれかにしてください。",
            code="attachment.type_not_allowed",
        )
    if declared_mime and declared_mime != "application/octet-stream" and declared_mime != mime:
        raise AttachmentRejected(
            f"「{filename}」は中身 ({MIME_LABELS.get(mime, mime)}) と申告された形式 ({declared_mime}) が一致しません。",
            code="attachment.mime_mismatch",
        )
    return mime


def blob_store(
    *,
    content: bytes,
    filename: str,
    declared_mime: str | None = None,
    allowed: list[str] | None = None,
    max_bytes: int | None = None,
) -> StoredFile:
    """Check and store an upload. Writing the file is idempotent; the Blob row is created too."""
    mime = attachment_check(
        content=content, filename=filename, declared_mime=declared_mime, allowed=allowed, max_bytes=max_bytes
    )
    digest = hashlib.sha256(content).hexdigest()
    blob_write(content=content, sha256=digest)
    Blob.objects.get_or_create(sha256=digest, defaults={"size": len(content), "mime": mime})
    return StoredFile(sha256=digest, size=len(content), mime=mime, filename=Path(filename).name[:200])


def blob_write(*, content: bytes, sha256: str) -> None:
    """Write the file of a checked blob (``sha256`` of ``content``) unless it is there already: a temp
    file, fsync, atomic rename. The Blob row is the caller's (``blob_store`` or a batch)."""
    path = blob_path(sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def blob_read(sha256: str) -> bytes:
    return blob_path(sha256).read_bytes()
