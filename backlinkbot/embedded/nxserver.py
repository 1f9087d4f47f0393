"""Run the ``nx-27017`` MongoDB wire-protocol server with one correction.

nx-27017 0.8 (neosqlite 1.17) stores a BSON date given at the top level of a
``$set``/``$max``/``$min`` update as a *string* when it takes its SQL fast
path, and then compares it as a string. Real MongoDB keeps the date. The
crawler relies on date fields (``last_seen``, ``lost_at``, ``fetched_at``)
staying dates, so this launcher routes updates that carry a ``datetime``
through neosqlite's own Python update path, which keeps the type. Nothing else
changes; against a real MongoDB (``MONGODB_URI``) this module is not used.

Usage: ``python -m backlinkbot.embedded.nxserver [nx-27017 options]``.
"""

from __future__ import annotations

import datetime
import sys
from typing import Any

__all__ = ["apply_datetime_update_fix", "main"]


def _carries_datetime(update_spec: dict[str, Any]) -> bool:
    return any(
        isinstance(value, datetime.datetime)
        for operand in update_spec.values()
        if isinstance(operand, dict)
        for value in operand.values()
    )


def apply_datetime_update_fix() -> None:
    """Make neosqlite keep BSON dates in top-level update operators."""
    from neosqlite.collection.query_helper import _sql_updates

    mixin = _sql_updates.SqlUpdatesMixin
    if getattr(mixin, "_backlinkbot_patched", False):
        return
    original = mixin._can_use_sql_updates

    def can_use_sql_updates(
        self: Any,
        update_spec: dict[str, Any],
        doc_id: int,
        original_doc: dict[str, Any] | None = None,
    ) -> bool:
        if _carries_datetime(update_spec):
            return False
        return bool(original(self, update_spec, doc_id, original_doc))

    mixin._can_use_sql_updates = can_use_sql_updates
    mixin._backlinkbot_patched = True


def main() -> int:
    apply_datetime_update_fix()
    from nx_27017.nx_27017 import main as nx_main

    sys.argv[0] = "nx-27017"
    result = nx_main()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
