"""One directory of worker logs per crawl, the oldest removed.

``<base>/<YYYYmmdd-HHMMSS>/worker-N.log``, with ``<base>/latest`` pointing
at the newest; only the ``keep`` newest crawls' directories are kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

__all__ = ["new_log_dir"]

_RUN = re.compile(r"\d{8}-\d{6}(-\d+)?")


def new_log_dir(base: Path, *, keep: int) -> Path:
    """A new, empty directory for this crawl's logs under ``base``."""
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = base / stamp, 1
    while True:
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
            path = base / f"{stamp}-{n}"
    # Oldest first by when each was last written to (two crawls in one
    # second share a stamp); this crawl's directory is never removed.
    runs = sorted(
        (p for p in base.iterdir() if _RUN.fullmatch(p.name) and p.is_dir() and p != path),
        key=lambda p: (p.stat().st_mtime, p.name),
    )
    for old in runs[: max(0, len(runs) - max(0, keep - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    latest = base / "latest"
    with contextlib.suppress(OSError):
        draft = base / f".latest-{os.getpid()}"
        draft.unlink(missing_ok=True)
        draft.symlink_to(path.name)
        os.replace(draft, latest)
    return path
