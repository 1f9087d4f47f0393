"""Credentials: read from files, never written to a log.

``REDIS_URL`` and ``MONGODB_URI`` may carry a password. They come from the
environment or, for container secrets, from the files named by
``REDIS_URL_FILE`` / ``MONGODB_URI_FILE`` (:func:`read_secret_file`).
:func:`install_log_masking` makes every log record of the process mask the
password of any URL it contains (``redis://user:****@host``) and the value of
``password=`` / ``secret=`` / ``token=`` parameters, wherever the text comes
from.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

__all__ = ["install_log_masking", "mask_secrets", "read_secret_file"]

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]*):([^@/\s]+)@")
_PARAMETER = re.compile(r"(?i)\b(password|passwd|pwd|secret|token)=([^&\s'\"]+)")
MASK = "****"

_installed = False


def mask_secrets(text: str) -> str:
    """``text`` with URL passwords and ``password=`` values replaced.

    >>> mask_secrets("redis://default:s3cret@redis.internal:6379/0")
    'redis://default:****@redis.internal:6379/0'
    >>> mask_secrets("mongodb://h/?authSource=admin&password=x1")
    'mongodb://h/?authSource=admin&password=****'
    """
    text = _USERINFO.sub(rf"\1:{MASK}@", text)
    return _PARAMETER.sub(rf"\1={MASK}", text)


def read_secret_file(path: str) -> str:
    """The first line of the file at ``path``, stripped (a URL with its
    credentials). A missing or empty file is a clear startup error."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RuntimeError(f"cannot read secret file {path!r}: {exc.strerror}") from None
    if not text:
        raise RuntimeError(f"secret file {path!r} is empty")
    return text.splitlines()[0].strip()


def install_log_masking() -> None:
    """Mask secrets in every log record created from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's to report
            return record
        if "=" in message or "@" in message:
            masked = mask_secrets(message)
            if masked != message:
                record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(masked_record)
