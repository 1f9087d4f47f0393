"""``backlinkbot services``: the embedded local servers of the data directory.

``status`` says whether they run, where (addresses, pids, logs), since when,
which commands use them and when they stop on their own; ``stop`` stops
them (refused while commands use them, unless ``--force``); ``start``
starts them ahead of the first command. Exit status of ``status``: 0 while
they run, 3 when they do not.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

from backlinkbot.embedded import ServiceInUse
from backlinkbot.services import configured_url, data_dir, local_service

help = "show, start or stop the embedded local Redis and MongoDB-wire servers"

NOT_RUNNING = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=("status", "start", "stop"), nargs="?", default="status",
        help="status (the default), start or stop",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="stop even while commands use them")
    parser.add_argument("--json", action="store_true", help="status as a JSON object")


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _status(args: argparse.Namespace) -> int:
    service = local_service()
    state = service.state()
    users = service.users() if state is not None else []
    if args.json:
        print(json.dumps({
            "data_dir": str(data_dir()), "running": state is not None,
            "service": asdict(state) if state is not None else None,
            "users": [asdict(u) for u in users],
        }, indent=2))  # fmt: skip
        return 0 if state is not None else NOT_RUNNING
    if state is None:
        print(f"embedded servers of {data_dir()}: not running "
              "(the next command that needs them starts them)")  # fmt: skip
        return NOT_RUNNING
    now = time.time()
    print(f"embedded servers of {data_dir()}: running for {_ago(now - state.started_at)} "
          f"(keeper pid {state.keeper}, log {service.log_path})")  # fmt: skip
    print(f"  Redis    {state.redis.url}  pid {state.redis.pid}  log {state.redis.log}")
    print(f"  MongoDB  {state.mongodb.url}  pid {state.mongodb.pid}  log {state.mongodb.log}")
    if users:
        print(f"  used by {len(users)} command(s):")
        for user in users:
            print(f"    pid {user.pid}, for {_ago(now - user.since)}: {user.command}")
    else:
        print(f"  unused: they stop within {_ago(state.idle_seconds)} of the last command")
    for name in ("REDIS_URL", "MONGODB_URI"):
        if configured_url(name):
            print(f"  ({name} is set: commands in this environment use that server instead)")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "status":
        return _status(args)
    service = local_service()
    if args.action == "start":
        with service.use("backlinkbot services start") as (state, started):
            verb = "started" if started else "already running:"
            print(f"{verb} Redis at {state.redis.url} and nx-27017 at {state.mongodb.url}; "
                  f"they stop {_ago(state.idle_seconds)} after the last command")  # fmt: skip
        return 0
    try:
        stopped = service.stop(force=args.force)
    except ServiceInUse as exc:
        print(f"backlinkbot services: not stopped, {exc}; wait for them, or --force")
        return 1
    print("stopped" if stopped else "not running")
    return 0
