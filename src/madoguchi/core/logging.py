"""Structured JSON log lines, with any 12-digit number that could be a 個人番号 redacted."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# Not inside a longer run of letters and digits: the 12 digits within a hex hash are not a 個人番号.
_MYNUMBER = re.compile(
    r"(?<![0-9０-９A-Za-z])[0-9０-９]{4}[ -]?[0-9０-９]{4}[ -]?[0-9０-９]{4}(?![0-9０-９A-Za-z])"
)


def redact(text: str) -> str:
    return _MYNUMBER.sub("[個人番号秘匿]", text)


class RedactMyNumberFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        extra = getattr(record, "audit", None)
        if isinstance(extra, dict):
            payload["audit"] = json.loads(redact(json.dumps(extra, ensure_ascii=False, default=str)))
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)
