"""The default status workflows, as data. Loaded by ``catalog.services.workflow_ensure_defaults``.

申請 (decisions that need 決裁) and 届出 (notifications: no 決裁). Statuses seen in the field
(research/jp-online-procedures.md §3): 受付 / 審査中 / 補正依頼 / 再提出 / 決裁待ち / 承認 / 却下 / 完了 / 取下げ.
"""

from __future__ import annotations

from typing import Any

# code, name, staff_settable, is_initial, is_terminal, tone
STATUSES: list[tuple[str, str, bool, bool, bool, str]] = [
    ("received", "受付", False, True, False, "info"),
    ("reviewing", "審査中", True, False, False, "info"),
    ("correction_requested", "補正依頼", True, False, False, "warning"),
    ("resubmitted", "再提出", False, False, False, "info"),
    ("pending_approval", "決裁待ち", True, False, False, "warning"),
    ("approved", "承認", True, False, False, "success"),
    ("rejected", "却下", True, False, True, "danger"),
    ("completed", "完了", True, False, True, "success"),
    ("withdrawn", "取下げ", False, False, True, "neutral"),
]

H, A, C, M = "handler", "approver", "clerk", "admin"
OPEN = ["received", "reviewing", "correction_requested", "resubmitted", "pending_approval"]

# from, to, label, roles ([] = system only), reason_required
_COMMON: list[tuple[str, str, str, list[str], bool]] = [
    ("received", "reviewing", "審査を開始", [H, A, M], False),
    ("received", "correction_requested", "補正を依頼", [H, A], True),
    ("reviewing", "correction_requested", "補正を依頼", [H, A], True),
    ("correction_requested", "resubmitted", "再提出", [], False),
    ("resubmitted", "reviewing", "審査を再開", [H, A, M], False),
    ("resubmitted", "correction_requested", "再度補正を依頼", [H, A], True),
] + [(s, "withdrawn", "取下げを記録", [C, H, A], True) for s in OPEN]

SHINSEI: list[tuple[str, str, str, list[str], bool]] = [
    *_COMMON,
    ("reviewing", "pending_approval", "決裁に回す", [H, A], False),
    ("pending_approval", "approved", "承認 (決裁)", [A], False),
    ("pending_approval", "reviewing", "課内差戻し", [A], True),
    ("pending_approval", "rejected", "却下 (決裁)", [A], True),
    ("reviewing", "rejected", "却下", [A], True),
    ("approved", "completed", "完了 (通知済)", [H, A, M], False),
]

TODOKEDE: list[tuple[str, str, str, list[str], bool]] = [
    *_COMMON,
    ("reviewing", "completed", "受理して完了", [H, A], False),
    ("reviewing", "rejected", "不受理", [H, A], True),
]

WORKFLOWS: dict[str, dict[str, Any]] = {
    "shinsei": {"name": "申請 (決裁あり)", "transitions": SHINSEI},
    "todokede": {"name": "届出 (決裁なし)", "transitions": TODOKEDE},
}

# Targets that carry extra data and so are reached only through their own service.
DEDICATED = {
    "correction_requested": "application_request_correction",
    "resubmitted": "application_resubmit",
    "withdrawn": "application_withdraw",
    "approved": "application_approve",
}
