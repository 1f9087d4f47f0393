"""The ranking job on one machine: load, score, store.

``rank_database`` reads the live external links once, scores the host and
domain graphs (:mod:`backlinkbot.ranking.scores`) and writes the results
(:mod:`backlinkbot.ranking.store`), timing each stage for the report and
telling an optional ``progress(stage, done, total)`` as it goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .load import LEVELS, load_graphs
from .scores import RankOptions, Scores, score_graph
from .store import write_scores

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["RankReport", "rank_database"]


@dataclass(slots=True)
class RankReport:
    """What a run did: the scores of each level and the time of each stage."""

    ranked_at: datetime
    scores: dict[str, Scores] = field(default_factory=dict)
    scanned: int = 0
    internal: int = 0
    malformed: int = 0
    written: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def rank_database(
    db: Database[dict[str, Any]],
    *,
    levels: Collection[str] = LEVELS,
    options: RankOptions | None = None,
    ranked_at: datetime | None = None,
    read_batch_size: int = 10_000,
    write_batch_size: int = 1000,
    write: bool = True,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> RankReport:
    """Rank the hosts and/or domains of ``db`` and store the scores."""
    # BSON keeps milliseconds: truncate so the stored value equals the report's.
    now = ranked_at or datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    report = RankReport(now)
    start = time.perf_counter()
    loaded = load_graphs(db, levels=levels, batch_size=read_batch_size, progress=progress)
    report.seconds["load"] = time.perf_counter() - start
    report.scanned, report.internal = loaded.scanned, loaded.internal
    report.malformed = loaded.malformed
    for level in LEVELS:
        if level not in loaded.graphs:
            continue
        start = time.perf_counter()
        if progress is not None:
            progress(f"scoring {level}s", 0, None)
        scores = score_graph(loaded.graphs[level], options=options)
        report.seconds[f"{level}_score"] = time.perf_counter() - start
        report.scores[level] = scores
        if write:
            start = time.perf_counter()
            report.written[level] = write_scores(
                db,
                level,
                scores,
                ranked_at=now,
                host_domains=loaded.host_domains if level == "host" else None,
                batch_size=write_batch_size,
                progress=progress,
            )
            report.seconds[f"{level}_write"] = time.perf_counter() - start
    return report
