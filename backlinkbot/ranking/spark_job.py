"""The ranking job on Apache Spark, for link graphs past one machine.

Same input, definitions and output documents as ``backlinkbot rank``,
computed with Spark SQL DataFrames so that no step holds the graph on one
machine; node ids are assigned in sorted name order, as the local job does,
so both build identical HyperBall counters. How to run it, and its readers
and writers: docs/RANKING.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from . import hyperloglog
from .load import LEVELS, LIVE, PROJECTION
from .scores import RankOptions

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["SparkLevel", "main", "rank_level", "read_links", "write_level"]

#: One link as the job reads it: src_host, dst_host, src_domain, dst_domain, nofollow.
LinkRow = tuple[str, str, str, str, bool]
LINK_SCHEMA = (
    "src_host string, dst_host string, src_domain string, dst_domain string, nofollow boolean"
)


@dataclass(slots=True)
class SparkLevel:
    """One level's results and run figures.

    ``nodes`` has one row per node: ``name``, ``rating``, ``pagerank``,
    ``harmonic``, ``pagerank_all``, ``harmonic_all`` (and ``domain`` for hosts).
    """

    level: str
    nodes: DataFrame
    figures: dict[str, Any] = field(default_factory=dict)


def _scalar(frame: DataFrame) -> Any:
    """The one value of a one-row, one-column aggregation."""
    row = frame.first()
    if row is None:
        raise ValueError("expected an aggregation row, got none")
    return row[0]


def _level_edges(links: DataFrame, level: str) -> DataFrame:
    """External links as ``(s, d, nf)``: source, target names and nofollow."""
    from pyspark.sql import functions as F

    return (
        links.where(F.col("src_domain") != F.col("dst_domain"))
        .select(
            F.col(f"src_{level}").alias("s"),
            F.col(f"dst_{level}").alias("d"),
            F.coalesce(F.col("nofollow"), F.lit(False)).alias("nf"),
        )
        .where(F.col("s") != F.col("d"))
    )


def _pagerank(
    ids: DataFrame, n: int, edges: DataFrame, options: RankOptions
) -> tuple[DataFrame, dict[str, Any]]:
    """PageRank of the ``n`` nodes of ``ids`` over ``(src, dst, w)`` edges."""
    from pyspark.sql import functions as F

    damping = options.damping
    out = edges.groupBy("src").agg(F.sum("w").alias("out_w"))
    # The fraction of each source's rank that flows along each edge.
    flows = edges.join(out, "src").select("src", "dst", (F.col("w") / F.col("out_w")).alias("p"))
    flows = flows.localCheckpoint()
    ranks = (
        ids.select("id")
        .join(out.select(F.col("src").alias("id"), F.lit(False).alias("dangling")), "id", "left")
        .select(
            "id",
            F.coalesce("dangling", F.lit(True)).alias("dangling"),
            F.lit(1.0 / n).alias("rank"),
        )
        .localCheckpoint()
    )
    iterations, error, leak = 0, float("inf"), 0.0
    while iterations < options.max_iter:
        iterations += 1
        dangling = _scalar(ranks.where("dangling").agg(F.sum("rank"))) or 0.0
        leak = damping * dangling + (1.0 - damping)
        incoming = (
            flows.join(ranks.select(F.col("id").alias("src"), "rank"), "src")
            .groupBy(F.col("dst").alias("id"))
            .agg(F.sum(F.col("p") * F.col("rank")).alias("c"))
        )
        updated = (
            ranks.join(incoming, "id", "left")
            .select(
                "id",
                "dangling",
                (F.lit(damping) * F.coalesce("c", F.lit(0.0)) + F.lit(leak / n)).alias("rank"),
                F.col("rank").alias("old"),
            )
            .localCheckpoint()
        )
        error = _scalar(updated.agg(F.sum(F.abs(F.col("rank") - F.col("old")))))
        ranks = updated.drop("old")
        if error < options.tolerance:
            break
    figures = {
        "iterations": iterations,
        "converged": error < options.tolerance,
        "error": error,
        "base": leak / n,
    }
    return ranks.select("id", "rank"), figures


def _hyperball(
    ids: DataFrame, edges: DataFrame, options: RankOptions
) -> tuple[DataFrame, dict[str, Any]]:
    """HyperBall harmonic centrality over ``(src, dst)`` edges.

    A counter is stored sparsely, one row ``(id, reg, val)`` per non-zero
    register. A step sends only the registers that rose in the previous step
    along the edges and keeps the maximum per (target, register), which is
    the same union as the local job's, whose unchanged registers add nothing.
    """
    from pyspark.sql import functions as F

    log2m, seed = options.hll_log2m, options.seed
    m = 1 << log2m

    def start(rows: Iterable[Any]) -> Iterator[tuple[int, int, int, float]]:
        nodes = np.fromiter((row[0] for row in rows), dtype=np.int64)
        if not nodes.size:
            return
        counters = hyperloglog.singletons(nodes, log2m=log2m, seed=seed)
        sizes = hyperloglog.estimate(counters)
        registers = counters.argmax(axis=1)
        values = counters[np.arange(nodes.size), registers]
        yield from zip(
            nodes.tolist(), registers.tolist(), values.tolist(), sizes.tolist(), strict=True
        )

    first = ids.select("id").rdd.mapPartitions(start).toDF(["id", "reg", "val", "size"])
    first = first.localCheckpoint()
    registers = first.select("id", "reg", "val")
    sizes = first.select("id", "size", F.lit(0.0).alias("harmonic"))
    rose = registers
    links = edges.select("src", "dst").localCheckpoint()
    step = 0
    while True:
        step += 1
        incoming = (
            links.join(rose.withColumnRenamed("id", "src"), "src")
            .groupBy(F.col("dst").alias("id"), "reg")
            .agg(F.max("val").alias("inc"))
        )
        merged = (
            registers.join(incoming, ["id", "reg"], "full_outer")
            .select(
                "id",
                "reg",
                F.greatest(F.coalesce("val", F.lit(0)), F.coalesce("inc", F.lit(0))).alias("val"),
                (F.coalesce("inc", F.lit(0)) > F.coalesce("val", F.lit(0))).alias("up"),
            )
            .localCheckpoint()
        )
        rose = merged.where("up").select("id", "reg", "val").localCheckpoint()
        grown = rose.select("id").distinct()
        if grown.count() == 0:
            break
        registers = merged.select("id", "reg", "val")
        # The estimator of hyperloglog.estimate, over the stored registers
        # (absent registers are 0 and contribute 2**0 = 1 each).
        zeros = F.lit(m) - F.col("filled")
        raw = F.lit(hyperloglog.alpha(m) * m * m) / (F.col("powers") + zeros)
        linear = F.lit(float(m)) * F.log(F.lit(float(m)) / zeros)
        estimates = (
            registers.join(grown, "id")
            .groupBy("id")
            .agg(
                F.sum(F.pow(F.lit(2.0), -F.col("val"))).alias("powers"),
                F.count("*").alias("filled"),
            )
            .select("id", F.when((raw <= 2.5 * m) & (zeros > 0), linear).otherwise(raw).alias("e"))
        )
        sizes = (
            sizes.join(estimates, "id", "left")
            .select(
                "id",
                F.when(F.col("e").isNull(), F.col("size"))
                .otherwise(F.greatest("e", "size"))
                .alias("new"),
                "size",
                "harmonic",
            )
            .select(
                "id",
                F.col("new").alias("size"),
                (F.col("harmonic") + (F.col("new") - F.col("size")) / F.lit(float(step))).alias(
                    "harmonic"
                ),
            )
            .localCheckpoint()
        )
    return sizes.select("id", "harmonic"), {"steps": step}


def _rating_column(base: float, top: float) -> Column:
    """:func:`backlinkbot.ranking.rating.rating` as a column expression."""
    from pyspark.sql import functions as F

    if top <= base * (1 + 1e-12):
        return F.lit(0.0)
    ratio = F.greatest(F.col("pagerank") / F.lit(base), F.lit(1.0))
    value = F.lit(100.0) * F.log(ratio) / F.lit(math.log(top / base))
    clipped = F.least(F.greatest(value, F.lit(0.0)), F.lit(100.0))
    # numpy's round(x, 1) is rint(x * 10) / 10: half to even, as F.rint.
    return F.rint(clipped * F.lit(10.0)) / F.lit(10.0)


def rank_level(
    spark: SparkSession,
    links: DataFrame,
    level: str,
    *,
    options: RankOptions | None = None,
) -> SparkLevel:
    """Every score of every node of one level (``"host"`` or ``"domain"``).

    ``links`` has the columns ``src_host``, ``dst_host``, ``src_domain``,
    ``dst_domain`` and ``nofollow`` of the live links.
    """
    from pyspark.sql import functions as F

    if level not in LEVELS:
        raise ValueError(f"expected a level among {LEVELS}, got {level!r}")
    opts = options or RankOptions()
    edges = _level_edges(links, level).localCheckpoint()
    names = edges.select(F.col("s").alias("name")).union(edges.select(F.col("d").alias("name")))
    # Ids in sorted name order, like the local job (and so its HyperBall hashes).
    ids = (
        names.distinct()
        .orderBy("name")
        .rdd.zipWithIndex()
        .map(lambda v: (v[0][0], v[1]))
        .toDF(["name", "id"])
        .localCheckpoint()
    )
    n = ids.count()
    if n == 0:
        empty = spark.createDataFrame([], "name string")
        return SparkLevel(level, empty, {"nodes": 0, "edges": 0, "dofollow_edges": 0})
    numbered = (
        edges.join(ids.select(F.col("name").alias("s"), F.col("id").alias("src")), "s")
        .join(ids.select(F.col("name").alias("d"), F.col("id").alias("dst")), "d")
        .select("src", "dst", "nf")
    )
    weighted = numbered.groupBy("src", "dst").agg(F.count("*").cast("double").alias("w"))
    weighted = weighted.localCheckpoint()
    follow = numbered.where(~F.col("nf")).select("src", "dst").distinct()
    follow = follow.withColumn("w", F.lit(1.0)).localCheckpoint()
    rank, rank_figures = _pagerank(ids, n, follow, opts)
    rank_all, rank_all_figures = _pagerank(ids, n, weighted, opts)
    central, central_figures = _hyperball(ids, follow, opts)
    central_all, central_all_figures = _hyperball(ids, weighted, opts)
    scores = (
        ids.join(rank.withColumnRenamed("rank", "pagerank"), "id")
        .join(rank_all.withColumnRenamed("rank", "pagerank_all"), "id")
        .join(central, "id")
        .join(central_all.withColumnRenamed("harmonic", "harmonic_all"), "id")
    )
    top = _scalar(scores.agg(F.max("pagerank")))
    scores = scores.withColumn("rating", _rating_column(rank_figures["base"], top))
    columns = ["name", "rating", "pagerank", "harmonic", "pagerank_all", "harmonic_all"]
    nodes = scores.select(*columns)
    if level == "host":
        domains = links.select(F.col("src_host").alias("name"), F.col("src_domain").alias("domain"))
        domains = domains.union(links.select("dst_host", "dst_domain")).distinct()
        nodes = nodes.join(domains, "name", "left")
    figures = {
        "nodes": n,
        "edges": weighted.count(),
        "dofollow_edges": follow.count(),
        "pagerank": rank_figures,
        "pagerank_all": rank_all_figures,
        "harmonic": central_figures,
        "harmonic_all": central_all_figures,
    }
    return SparkLevel(level, nodes, figures)


def _slices(count: int) -> list[dict[str, Any]]:
    """``_id`` ranges that split hex-string ids into ``count`` even slices."""
    bounds = [format(i * 16**6 // count, "06x") for i in range(1, count)]
    lows: list[str | None] = [None, *bounds]
    highs: list[str | None] = [*bounds, None]
    ranges = []
    for low, high in zip(lows, highs, strict=True):
        condition: dict[str, str] = {}
        if low is not None:
            condition["$gte"] = low
        if high is not None:
            condition["$lt"] = high
        ranges.append({"_id": condition} if condition else {})
    return ranges


def _read_slice(uri: str, database: str, batch_size: int) -> Any:
    def read(queries: Iterable[dict[str, Any]]) -> Iterator[LinkRow]:
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri)
        try:
            links = client[database]["links"]
            for query in queries:
                cursor = links.find({**LIVE, **query}, PROJECTION, batch_size=batch_size)
                for doc in cursor:
                    try:
                        yield (
                            doc["src_host"], doc["dst_host"], doc["src_domain"],
                            doc["dst_domain"], bool(doc.get("nofollow", False)),
                        )  # fmt: skip
                    except KeyError:
                        continue
        finally:
            client.close()

    return read


def read_links(
    spark: SparkSession,
    uri: str,
    database: str,
    *,
    reader: str = "pymongo",
    slices: int = 64,
    batch_size: int = 10_000,
) -> DataFrame:
    """The live links of ``database`` (the five columns of ``LINK_SCHEMA``)."""
    if reader == "pymongo":
        ranges = _slices(slices)
        rows = spark.sparkContext.parallelize(ranges, len(ranges)).mapPartitions(
            _read_slice(uri, database, batch_size)
        )
        return spark.createDataFrame(rows, LINK_SCHEMA)
    if reader == "connector":
        pipeline = [{"$match": LIVE}, {"$project": PROJECTION}]
        frame = (
            spark.read.format("mongodb")
            .option("connection.uri", uri)
            .option("database", database)
            .option("collection", "links")
            .option("aggregation.pipeline", json.dumps(pipeline))
            .load()
        )
        columns = ["src_host", "dst_host", "src_domain", "dst_domain", "nofollow"]
        return frame.select(*columns).dropna(subset=columns[:4])
    raise ValueError(f"expected reader 'pymongo' or 'connector', got {reader!r}")


def _write_partition(
    uri: str, database: str, level: str, ranked_at: datetime, batch_size: int
) -> Any:
    from .store import COLLECTIONS, set_in_batches

    def write(rows: Iterable[Any]) -> Iterator[int]:
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri)
        written = 0
        try:
            documents = (_row_document(level, row.asDict(), ranked_at) for row in rows)
            written += set_in_batches(
                client[database][COLLECTIONS[level]], documents, batch_size=batch_size
            )
        finally:
            client.close()
        yield written

    return write


def _row_document(
    level: str, values: dict[str, Any], ranked_at: datetime
) -> tuple[str, dict[str, Any]]:
    name = values.pop("name")
    return name, {level: name, **values, "ranked_at": ranked_at}


def write_level(
    result: SparkLevel,
    uri: str,
    database: str,
    *,
    ranked_at: datetime,
    batch_size: int = 1000,
) -> int:
    """Upsert one level's documents from the executors; returns how many."""
    write = _write_partition(uri, database, result.level, ranked_at, batch_size)
    return int(result.nodes.rdd.mapPartitions(write).sum())


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backlinkbot.ranking.spark_job",
        description="Rank hosts and domains on Apache Spark (see docs/RANKING.md).",
    )
    parser.add_argument("--mongodb-uri", required=True)
    parser.add_argument("--database", default="backlinkbot")
    parser.add_argument("--level", choices=(*LEVELS, "both"), default="both")
    parser.add_argument("--reader", choices=("pymongo", "connector"), default="pymongo")
    parser.add_argument("--slices", type=int, default=64, help="read tasks (pymongo reader)")
    parser.add_argument("--master", default=None, help="e.g. local[2]; spark-submit sets it")
    parser.add_argument("--tolerance", type=float, default=RankOptions().tolerance)
    parser.add_argument("--max-iter", type=int, default=RankOptions().max_iter)
    parser.add_argument("--hll-log2m", type=int, default=RankOptions().hll_log2m)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--dry-run", action="store_true", help="compute, write nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _arguments().parse_args(argv)
    from pyspark.sql import SparkSession

    options = RankOptions(
        tolerance=args.tolerance, max_iter=args.max_iter, hll_log2m=args.hll_log2m,
        seed=args.seed,
    )  # fmt: skip
    # Stop the session at the end only if this run started it.
    started = SparkSession.getActiveSession() is None
    builder = SparkSession.builder.appName("backlinkbot-rank")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    now = datetime.now(UTC)
    ranked_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    try:
        links = read_links(
            spark, args.mongodb_uri, args.database, reader=args.reader, slices=args.slices
        ).localCheckpoint()
        report: dict[str, Any] = {"ranked_at": ranked_at.isoformat(), "levels": {}}
        for level in LEVELS if args.level == "both" else (args.level,):
            result = rank_level(spark, links, level, options=options)
            if not args.dry_run:
                result.figures["written"] = write_level(
                    result, args.mongodb_uri, args.database,
                    ranked_at=ranked_at, batch_size=args.batch_size,
                )  # fmt: skip
            report["levels"][level] = result.figures
        print(json.dumps(report, indent=2))
    finally:
        if started:
            spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
