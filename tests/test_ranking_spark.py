"""The Spark job on a local Spark gives the local job's scores (skipped without pyspark)."""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("pyspark")

from backlinkbot.ranking import EdgeCollector, RankOptions, rank_database, score_graph
from backlinkbot.ranking.spark_job import LINK_SCHEMA, main, rank_level
from backlinkbot.storage.schema import link_id

pytestmark = pytest.mark.slow

# Few PageRank steps keep Spark's per-step job overhead small; both jobs
# stop at the same step, so they still agree to rounding.
OPTIONS = RankOptions(tolerance=1e-4, harmonic_exact_limit=0, seed=5)


def random_links(count: int, seed: int) -> list[tuple[str, str, str, str, bool]]:
    rng = random.Random(seed)
    hosts = [f"{sub}.site{d}.com" for d in range(12) for sub in ("www", "blog")[: 1 + d % 2]]
    hosts += [f"site{d}.org" for d in range(12, 20)]
    rows = []
    for _ in range(count):
        src = rng.choice(hosts)
        # Skewed targets: low-numbered sites are linked to most.
        dst = hosts[min(int(rng.paretovariate(1.1)) - 1, len(hosts) - 1)]
        domain = lambda h: ".".join(h.split(".")[-2:])  # noqa: E731
        rows.append((src, dst, domain(src), domain(dst), rng.random() < 0.25))
    return rows


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter, which has the project's packages.
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("backlinkbot-test")
        .config("spark.ui.enabled", "false")
        # Tiny data: one partition per shuffle and no adaptive re-planning
        # keep the per-stage overhead, which dominates here, low.
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        if saved is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = saved


def local_scores(
    rows: list[tuple[str, str, str, str, bool]], level: str
) -> dict[str, dict[str, float]]:
    collector = EdgeCollector()
    pick = 0 if level == "host" else 2
    for row in rows:
        if row[2] != row[3]:
            collector.add(row[pick], row[pick + 1], row[4])
    scores = score_graph(collector.graph(), options=OPTIONS)
    return {
        label: {
            "rating": float(scores.rating[i]),
            "pagerank": float(scores.pagerank.scores[i]),
            "harmonic": float(scores.harmonic.scores[i]),
            "pagerank_all": float(scores.pagerank_all.scores[i]),
            "harmonic_all": float(scores.harmonic_all.scores[i]),
        }
        for i, label in enumerate(scores.graph.labels)
    }


def assert_same(got: dict[str, dict[str, Any]], expected: dict[str, dict[str, float]]) -> None:
    assert set(got) == set(expected)
    for name, fields in expected.items():
        for key, value in fields.items():
            assert got[name][key] == pytest.approx(value, rel=1e-9, abs=1e-12), (name, key)


@pytest.mark.parametrize("level", ["host", "domain"])
def test_spark_level_matches_the_local_job(spark: Any, level: str) -> None:
    rows = random_links(200, seed=11)
    links = spark.createDataFrame(rows, LINK_SCHEMA)
    result = rank_level(spark, links, level, options=OPTIONS)
    got = {row["name"]: row.asDict() for row in result.nodes.collect()}
    expected = local_scores(rows, level)
    assert_same(got, expected)
    assert result.figures["nodes"] == len(expected)
    assert result.figures["pagerank"]["converged"]
    if level == "host":
        assert got["blog.site1.com"]["domain"] == "site1.com"


def test_spark_job_reads_and_writes_mongodb(
    spark: Any, mongo_db: Any, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = datetime(2026, 1, 1, tzinfo=UTC)
    rows = random_links(100, seed=12)
    docs = {}
    for i, (src_host, dst_host, src_domain, dst_domain, nofollow) in enumerate(rows):
        src, dst = f"https://{src_host}/{i % 7}", f"https://{dst_host}/"
        docs[link_id(src, dst)] = {
            "_id": link_id(src, dst), "src": src, "dst": dst,
            "src_host": src_host, "dst_host": dst_host,
            "src_domain": src_domain, "dst_domain": dst_domain,
            "nofollow": nofollow, "first_seen": seen, "last_seen": seen,
        }  # fmt: skip
    mongo_db.links.insert_many(list(docs.values()))
    mongo_db.domains.insert_one({"_id": "site0.com", "domain": "site0.com", "backlinks": 9})
    argv = [
        "--mongodb-uri", mongo_uri, "--database", mongo_db.name, "--level", "domain",
        "--slices", "4", "--tolerance", "1e-4", "--seed", "5",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    expected_report = rank_database(mongo_db, levels=("domain",), options=OPTIONS, write=False)
    expected = expected_report.scores["domain"]
    assert report["levels"]["domain"]["written"] == expected.graph.nodes
    got = {doc["_id"]: doc for doc in mongo_db.domains.find()}
    assert got["site0.com"]["backlinks"] == 9
    assert_same(
        got,
        {
            label: {
                "rating": float(expected.rating[i]),
                "pagerank": float(expected.pagerank.scores[i]),
                "harmonic_all": float(expected.harmonic_all.scores[i]),
            }
            for i, label in enumerate(expected.graph.labels)
        },
    )
