"""Reading an untrusted zip without trusting it: names, links, counts, sizes and ratios are checked
from the central directory first, and the sizes again while reading (a forged header cannot lie)."""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass

from madoguchi.intake.errors import PackageRejected


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 100
    max_total_bytes: int = 50 * 1024 * 1024
    max_entry_bytes: int = 20 * 1024 * 1024
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 64 * 1024  # tiny members may compress well without being a bomb


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name:
        return True
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part in {"..", ""} for part in name.rstrip("/").split("/"))


def zip_read(content: bytes, *, limits: ZipLimits | None = None) -> dict[str, bytes]:
    """Every file member's bytes by name, or PackageRejected with the first problem found."""
    limits = limits or ZipLimits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise PackageRejected("package.unreadable", type(exc).__name__) from None
    if len(infos) > limits.max_entries:
        raise PackageRejected("zip.too_many_entries", f"({len(infos)} > {limits.max_entries})")
    names: set[str] = set()
    declared_total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise PackageRejected("zip.path_traversal", repr(info.filename)[:80])
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise PackageRejected("zip.link", repr(info.filename)[:80])
        if info.flag_bits & 0x1:
            raise PackageRejected("zip.encrypted", repr(info.filename)[:80])
        if info.filename in names:
            raise PackageRejected("zip.duplicate_entry", repr(info.filename)[:80])
        names.add(info.filename)
        if info.file_size > limits.max_entry_bytes:
            raise PackageRejected("zip.too_large", repr(info.filename)[:80])
        declared_total += info.file_size
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise PackageRejected("zip.bomb", repr(info.filename)[:80])
    if declared_total > limits.max_total_bytes:
        raise PackageRejected("zip.too_large")
    out: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        try:
            with archive.open(info) as member:
                # read at most one byte past the declared size: a lying header is caught here
                data = member.read(min(info.file_size, limits.max_entry_bytes) + 1)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise PackageRejected("package.unreadable", type(exc).__name__) from None
        if len(data) > info.file_size:
            raise PackageRejected("zip.bomb", repr(info.filename)[:80])
        total += len(data)
        if total > limits.max_total_bytes:
            raise PackageRejected("zip.too_large")
        out[info.filename] = data
    return out
