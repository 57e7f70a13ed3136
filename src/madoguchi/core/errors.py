"""Errors a user sees: always a stable code and a Japanese message."""

from __future__ import annotations


class MadoguchiError(Exception):
    """Base error: ``code`` is stable (documented, greppable), ``message`` is Japanese for people."""

    code = "error"
    default_message = "処理できませんでした。"

    def __init__(
        self, message: str | None = None, *, code: str | None = None, details: object = None
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.details = details
        super().__init__(f"[{self.code}] {self.message}")

    def __str__(self) -> str:
        return f"【{self.code}】{self.message}"


class ValidationFailed(MadoguchiError):
    code = "validation"
    default_message = "入力内容に誤りがあります。"


class PermissionDeniedError(MadoguchiError):
    code = "permission.denied"
    default_message = "この操作を行う権限がありません。"


class TransitionNotAllowed(MadoguchiError):
    code = "workflow.transition_not_allowed"
    default_message = "この状態からは、その操作はできません。"


class ConcurrentUpdate(MadoguchiError):
    code = "application.concurrent_update"
    default_message = (
        "他の職員が先にこの申請を更新しました。画面を再読み込みしてから、もう一度操作してください。"
    )


class AttachmentRejected(MadoguchiError):
    code = "attachment.rejected"
    default_message = "添付ファイルを受け付けられません。"
