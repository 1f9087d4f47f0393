"""Run the ``nx-27017`` MongoDB wire-protocol server, corrected and faster.

The launcher keeps BSON dates given to ``$set``/``$max``/``$min`` as dates
(nx-27017 stores them as strings), builds sparse indexes from pymongo's key
form, runs each write command in one SQLite transaction, and cuts copies and
encodings the crawler's flat documents do not need. docs/SCHEMA.md ("The
embedded MongoDB-wire server") lists each difference from MongoDB and what
the launcher changes. On SIGTERM it stops between two steps of its event
loop, without tracebacks in the log. With a real MongoDB (``MONGODB_URI``) it is not used.

Usage: ``python -m backlinkbot.embedded.nxserver [nx-27017 options]``.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import inspect
import logging
import math
import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

orjson: Any
try:
    import orjson
except ImportError:  # pragma: no cover - a dependency of the embedded extra
    orjson = None

__all__ = [
    "apply_datetime_update_fix",
    "apply_flat_document_fast_paths",
    "apply_graceful_stop",
    "apply_lean_inserts",
    "apply_projection_fast_path",
    "apply_sparse_single_field_indexes",
    "apply_sqlite_tuning",
    "apply_write_batching",
    "main",
    "quiet_cancelled_clients",
]

_BATCHED_COMMANDS = frozenset({"insert", "update", "delete"})

#: Marks a method this launcher put in place.
_PATCHED = "_backlinkbot_patched"


def _patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Set ``owner.<name>`` to ``make(original)``, once per process: a
    second call finds the replacement in place and leaves it."""
    original = getattr(owner, name)
    if getattr(original, _PATCHED, False):
        return
    replacement = make(original)
    setattr(replacement, _PATCHED, True)
    setattr(owner, name, replacement)


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

    def make(original: Any) -> Any:
        def can_use_sql_updates(
            self: Any,
            update_spec: dict[str, Any],
            doc_id: int,
            original_doc: dict[str, Any] | None = None,
        ) -> bool:
            if _carries_datetime(update_spec):
                return False
            return bool(original(self, update_spec, doc_id, original_doc))

        return can_use_sql_updates

    _patch(_sql_updates.SqlUpdatesMixin, "_can_use_sql_updates", make)


class _Sections(list[Any]):
    """A command's sections that print as a summary: nx-27017 formats them
    into a debug message (an f-string, so even with debug logging off)."""

    def __repr__(self) -> str:
        return f"<{len(self)} sections>"

    __str__ = __repr__


def _write_command(msg: Any) -> bool:
    """True for an insert/update/delete command outside a client transaction."""
    try:
        body = next(doc for kind, doc in msg["sections"] if kind == "body")
    except (KeyError, TypeError, StopIteration):
        return False
    if not isinstance(body, dict) or not body:
        return False
    if "autocommit" in body or "startTransaction" in body:
        return False
    return next(iter(body)) in _BATCHED_COMMANDS


def apply_write_batching() -> None:
    """Run each write command in one SQLite transaction, not one per document."""
    from nx_27017 import handler

    def batched(method: Any) -> Any:
        @functools.wraps(method)
        def run(self: Any, msg: Any) -> Any:
            if not _write_command(msg):
                return method(self, msg)
            if isinstance(msg.get("sections"), list):
                msg["sections"] = _Sections(msg["sections"])
            name = handler._msg_db_name(msg)
            # The handler's own per-database lock (re-entrant): the
            # transaction spans exactly the command it wraps.
            with self._lock_for(name):
                connection = self.get_database(name).db
                if connection.in_transaction:
                    return method(self, msg)
                connection.execute("BEGIN")
                try:
                    return method(self, msg)
                finally:
                    if connection.in_transaction:
                        connection.execute("COMMIT")

        return run

    _patch(handler.NeoSQLiteHandler, "handle_insert", batched)
    _patch(handler.NeoSQLiteHandler, "handle_command", batched)


#: Value types that a recursive conversion (of ObjectIds, of bytes) leaves
#: as they are; exact types, so a subclass (bson's Int64, Binary) goes the
#: original way.
_FLAT_TYPES: frozenset[type] = frozenset({str, int, float, bool, type(None), datetime.datetime})


def _flat(document: dict[str, Any], types: frozenset[type] = _FLAT_TYPES) -> bool:
    """Every value of ``document`` is of one of ``types`` (by default no
    nested document, array, bytes or ObjectId: a recursive conversion would
    leave it as it is)."""
    # map(type, ...) runs in C: a third of a Python loop's time per document.
    return types.issuperset(map(type, document.values()))


def _date_json(value: Any) -> Any:
    if type(value) is datetime.datetime:
        return {"$date": value.isoformat()}
    raise TypeError(type(value).__name__)


def _encode_flat(document: dict[str, Any], types: set[type] | None = None) -> str | None:
    """The JSON text of a flat document (:func:`_flat`) by ``orjson``, with
    dates as neosqlite writes them (``{"$date": isoformat}``); None where
    only the standard encoder gives neosqlite's answer: no ``orjson``, a
    NaN or infinity (which orjson would write as null, and neosqlite
    refuses), an integer beyond 64 bits, a string that is not UTF-8.
    ``types``, when the caller has them, are the document's value types:
    without a float among them, no value is looked at again."""
    if orjson is None:
        return None
    if types is None or float in types:
        for value in document.values():
            if type(value) is float and not math.isfinite(value):
                return None
    try:
        text: bytes = orjson.dumps(
            document, default=_date_json, option=orjson.OPT_PASSTHROUGH_DATETIME
        )
    except orjson.JSONEncodeError:
        return None
    return text.decode()


def apply_flat_document_fast_paths() -> None:
    """Skip nx-27017's recursive ObjectId conversion of flat documents."""
    from nx_27017 import handler

    def make(original: Any) -> Any:
        def convert_objectids(self: Any, doc: Any) -> Any:
            if isinstance(doc, dict) and _flat(doc):
                return dict(doc)  # a new dict, as the conversion returns
            return original(self, doc)

        return convert_objectids

    _patch(handler.NeoSQLiteHandler, "_convert_objectids", make)


def _single_field(key: Any) -> str | None:
    """The field of a one-field ascending or descending key list
    (``[("lost_at", -1)]``); else None."""
    if isinstance(key, list) and len(key) == 1:
        item = key[0]
        if isinstance(item, (tuple, list)) and len(item) == 2 and item[1] in (1, -1):
            field = item[0]
            if isinstance(field, str) and field != "_id":
                return field
    return None


def apply_sparse_single_field_indexes() -> None:
    """Build a sparse one-field index as a partial index, as neosqlite does
    for a key given as a plain field name."""
    from neosqlite.collection import index_manager

    def make(original: Any) -> Any:
        signature = inspect.signature(original)

        def create_index(self: Any, *args: Any, **kwargs: Any) -> Any:
            # neosqlite honours ``sparse`` only for a key given as a string;
            # a key list of one (field, direction) built the same index
            # (same name; SQLite reads an index either way) over every row.
            bound = signature.bind(self, *args, **kwargs)
            field = _single_field(bound.arguments.get("key"))
            if field is not None and bound.arguments.get("sparse"):
                bound.arguments["key"] = field
            return original(*bound.args, **bound.kwargs)

        return create_index

    _patch(index_manager.IndexManager, "create_index", make)


def _plain_inclusion(projection: dict[str, Any]) -> tuple[list[str], bool] | None:
    """The fields and whether ``_id`` is kept, for a projection that only
    includes top-level fields (``_id`` may be excluded); else None."""
    fields = []
    for key, value in projection.items():
        if key == "_id":
            if value not in (0, 1):
                return None
            continue
        if value != 1:
            return None
        if "." in key or key.startswith("$"):
            return None
        fields.append(key)
    if not fields:
        return None
    return fields, projection.get("_id", 1) == 1


def apply_projection_fast_path() -> None:
    """Project plain top-level inclusions without deep-copying the document."""
    from neosqlite.collection.query_helper import aggregation

    def make(original: Any) -> Any:
        def apply_projection(
            self: Any, projection: dict[str, Any], document: dict[str, Any]
        ) -> Any:
            plain = _plain_inclusion(projection) if projection else None
            if plain is None:
                return original(self, projection, document)
            fields, keep_id = plain
            projected = {key: document[key] for key in fields if key in document}
            if keep_id and "_id" in document:
                projected["_id"] = document["_id"]
            return projected

        return apply_projection

    _patch(aggregation.AggregationMixin, "_apply_projection", make)


def apply_lean_inserts() -> None:
    """Insert each document without a deep copy or a second SQL statement."""
    from bson import ObjectId as BsonObjectId
    from neosqlite.collection.json_helpers import NeoSQLiteJSONEncoder
    from neosqlite.collection.query_helper import crud_operations
    from neosqlite.collection.query_helper.utils import _convert_bytes_to_binary
    from neosqlite.exceptions import MalformedDocument
    from neosqlite.objectid import ObjectId

    class Encoder(NeoSQLiteJSONEncoder):  # type: ignore[misc]
        # Dates first: neosqlite's default() imports ObjectId before it
        # looks at them. The same text as neosqlite's encoder.
        def default(self, obj: Any) -> Any:
            if type(obj) is datetime.datetime:
                return {"$date": obj.isoformat()}
            return super().default(obj)

    encoder = Encoder(allow_nan=False)
    # What the bytes-to-Binary conversion leaves as it is: ObjectIds too.
    unconverted: frozenset[type] = _FLAT_TYPES | {ObjectId, BsonObjectId}

    @functools.lru_cache(maxsize=1024)
    def insert_sql(name: str) -> str:
        return f"INSERT INTO {crud_operations.quote_table_name(name)}(data, _id) VALUES (?, ?)"

    def internal_insert(self: Any, document: dict[str, Any]) -> Any:
        # As neosqlite's _internal_insert, which deep-copies ``document`` and
        # checks the JSON text with SELECT json_valid(?).
        if not isinstance(document, dict):
            raise MalformedDocument(f"document must be a dictionary, not a {type(document)}")
        provided = "_id" in document
        generated_id = document["_id"] if provided and document["_id"] is not None else ObjectId()
        copy = dict(document)
        copy["_id"] = generated_id
        # The value types, looked at once for both fast paths.
        types = set(map(type, copy.values()))
        if not unconverted.issuperset(types):
            copy = _convert_bytes_to_binary(copy)
        json_str = _encode_flat(copy, types) if _FLAT_TYPES.issuperset(types) else None
        if json_str is None:
            json_str = encoder.encode(copy)
        collection = self.collection
        cursor = collection.db.execute(insert_sql(collection.name), (json_str, str(generated_id)))
        if cursor.lastrowid is None:
            raise crud_operations.sqlite3.Error("Failed to get last row id.")
        if not provided:
            document["_id"] = generated_id
        return generated_id

    # Replaces the original outright: nothing of it is called.
    _patch(crud_operations.CRUDOperationsMixin, "_internal_insert", lambda _: internal_insert)


#: Per database file: page cache in KiB (negative: KiB, SQLite's convention)
#: and write-ahead log bytes between checkpoints.
CACHE_KIB = 64 * 1024
CHECKPOINT_BYTES = 40 * 1024 * 1024
#: Page size and auto-vacuum mode of a database file this launcher creates.
PAGE_SIZE = 16 * 1024
AUTO_VACUUM_NONE = 0


def _create_database_file(path: str) -> None:
    """Create an empty SQLite file with :data:`PAGE_SIZE` pages, no
    auto-vacuum, in WAL mode: switching to WAL writes the header, which
    fixes the page size before neosqlite creates a table."""
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        connection.execute(f"PRAGMA auto_vacuum = {AUTO_VACUUM_NONE}")
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()


def _auto_vacuum(path: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("PRAGMA auto_vacuum").fetchone()[0])
    finally:
        connection.close()


def apply_sqlite_tuning() -> None:
    """Create new database files with larger pages and no auto-vacuum, and
    open every one with a larger page cache and checkpoint."""
    from nx_27017 import handler

    def make(original: Any) -> Any:
        def open_db_conn(self: Any, db_name: str) -> Any:
            if getattr(self, "_mode", None) != "files":
                connection = original(self, db_name)
            else:
                path = self._db_file(handler._sanitize_db_name(db_name))
                if not os.path.exists(path):
                    _create_database_file(path)
                # As nx-27017 opens it, with the file's own auto-vacuum mode:
                # neosqlite would set INCREMENTAL on a file with no table yet.
                connection = handler.Connection(
                    path,
                    check_same_thread=False,
                    tokenizers=self.tokenizers,
                    journal_mode=self.journal_mode,
                    auto_vacuum=_auto_vacuum(path),
                )
            db = connection.db
            page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
            db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            db.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_BYTES // page_size}")
            return connection

        return open_db_conn

    _patch(handler.NeoSQLiteHandler, "_open_db_conn", make)


def _not_a_cancelled_client(record: logging.LogRecord) -> bool:
    exc_type = record.exc_info[0] if record.exc_info else None
    return not (exc_type is not None and issubclass(exc_type, asyncio.CancelledError))


def quiet_cancelled_clients() -> None:
    """Leave asyncio's reports of client tasks cancelled at shutdown out of
    the log (they are not errors)."""
    logging.getLogger("asyncio").addFilter(_not_a_cancelled_client)


def _stop_serving(signum: int, frame: Any) -> None:
    """SIGTERM / SIGINT: cancel the server's main task (the one
    ``asyncio.run`` waits for), so it ends between two steps of the loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not serving yet
        raise SystemExit(0) from None
    for task in asyncio.all_tasks(loop):
        if getattr(task.get_coro(), "__name__", "") == "run_server":
            loop.call_soon_threadsafe(task.cancel)
            return
    raise SystemExit(0)


def apply_graceful_stop() -> None:
    """Stop on SIGTERM / SIGINT by cancelling the server, not by raising
    ``SystemExit`` inside whatever it was doing."""
    from nx_27017 import daemon

    # run_foreground looks the handler up when it installs it.
    daemon._signal_exit_handler = _stop_serving


def main() -> int:
    quiet_cancelled_clients()
    apply_graceful_stop()
    apply_sqlite_tuning()
    apply_datetime_update_fix()
    apply_lean_inserts()
    apply_flat_document_fast_paths()
    apply_write_batching()
    apply_projection_fast_path()
    apply_sparse_single_field_indexes()
    from nx_27017.nx_27017 import main as nx_main

    sys.argv[0] = "nx-27017"
    try:
        result = nx_main()
    except asyncio.CancelledError:  # stopped by _stop_serving
        logging.getLogger("nx_27017").info("Stopped on a signal")
        return 0
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
