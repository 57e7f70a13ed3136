"""Audit to two places: a hash-chained DB row and a structured log line, in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.core.bulkcopy import rows_insert
from madoguchi.core.models import AuditEvent, AuditHead

logger = logging.getLogger("madoguchi.audit")
GENESIS = "0" * 64


def _canonical(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def _row_payload(
    *,
    seq: int,
    at: datetime,
    actor: str,
    municipality_code: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at.isoformat(),
        "actor": actor,
        "municipality": municipality_code,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "detail": detail,
    }


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(payload)).hexdigest()


def audit_record(
    *,
    actor: str,
    action: str,
    municipality_code: str = "",
    object_type: str = "",
    object_id: str | int = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside transaction.atomic()")
    detail = detail or {}
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    at = timezone.now()
    seq = head.seq + 1
    payload = _row_payload(
        seq=seq,
        at=at,
        actor=actor,
        municipality_code=municipality_code,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
    )
    digest = chain_hash(head.hash, payload)
    event = AuditEvent.objects.create(
        seq=seq,
        at=at,
        actor=actor,
        municipality_code=municipality_code,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
        prev_hash=head.hash,
        hash=digest,
    )
    head.seq, head.hash = seq, digest
    head.save(update_fields=["seq", "hash"])
    # the log line is written only if the change (and this row) commits
    line = payload | {"hash": digest}
    transaction.on_commit(lambda: logger.info(action, extra={"audit": line}))
    return event


@dataclass(frozen=True)
class AuditEntry:
    """One row for ``audit_record_many`` (the arguments of ``audit_record``)."""

    actor: str
    action: str
    municipality_code: str = ""
    object_type: str = ""
    object_id: str | int = ""
    detail: dict[str, Any] = field(default_factory=dict)


def audit_record_many(*, entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """Append rows in order, as ``audit_record`` would one by one, under one lock on the head row and
    with one INSERT (a batch import). Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record_many must be called inside transaction.atomic()")
    if not entries:
        return []
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    prev, seq = head.hash, head.seq
    events, lines = [], []
    for entry in entries:
        seq += 1
        at = timezone.now()
        object_id = str(entry.object_id)
        payload = _row_payload(
            seq=seq,
            at=at,
            actor=entry.actor,
            municipality_code=entry.municipality_code,
            action=entry.action,
            object_type=entry.object_type,
            object_id=object_id,
            detail=entry.detail,
        )
        digest = chain_hash(prev, payload)
        events.append(
            AuditEvent(
                seq=seq,
                at=at,
                actor=entry.actor,
                municipality_code=entry.municipality_code,
                action=entry.action,
                object_type=entry.object_type,
                object_id=object_id,
                detail=entry.detail,
                prev_hash=prev,
                hash=digest,
            )
        )
        lines.append((entry.action, payload | {"hash": digest}))
        prev = digest
    rows_insert(AuditEvent, events)
    head.seq, head.hash = seq, prev
    head.save(update_fields=["seq", "hash"])

    def log() -> None:
        for action, line in lines:
            logger.info(action, extra={"audit": line})

    transaction.on_commit(log)
    return events


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    broken_at: int | None
    problem: str

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def audit_verify(*, batch_size: int = 5000) -> VerifyResult:
    """Recompute the whole chain; report the first row whose hash or link does not match."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return VerifyResult(
                checked, event.seq, f"連番が欠けています (期待 {expected_seq}, 実際 {event.seq})"
            )
        if event.prev_hash != prev:
            return VerifyResult(checked, event.seq, "直前の行とのハッシュ連鎖が切れています")
        payload = _row_payload(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            municipality_code=event.municipality_code,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            detail=event.detail,
        )
        if chain_hash(prev, payload) != event.hash:
            return VerifyResult(checked, event.seq, "行の内容がハッシュと一致しません (改ざんの可能性)")
        prev = event.hash
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head and (head.seq != checked or head.hash != prev):
        return VerifyResult(checked, checked + 1, "末尾の行が削除されています")
    return VerifyResult(checked, None, "")
