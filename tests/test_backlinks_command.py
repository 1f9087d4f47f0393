"""``backlinkbot backlinks``: reports, formats and streaming."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from backlinkbot.commands import backlinks as command
from backlinkbot.storage.schema import ensure_indexes
from backlinkbot.storage.writer import GraphWriter

from .test_storage_writer import T0, edge, page

LATER = T0 + timedelta(days=10)


@pytest.fixture
def graph(mongo_db: Any) -> Any:
    """Links into b.com: live, nofollow, sponsored, image, lost and new."""
    ensure_indexes(mongo_db)
    writer = GraphWriter(mongo_db)
    first = {
        "http://a.com/": [edge("http://a.com/", "http://b.com/", anchor="B")],
        "http://x.a.com/": [edge("http://x.a.com/", "http://b.com/p", anchor="B", nofollow=True)],
        "http://c.org/": [edge("http://c.org/", "http://www.b.com/", anchor="cheap",
                               sponsored=True)],
        "http://d.net/": [edge("http://d.net/", "http://b.com/", image=True, alt="logo")],
        "http://e.io/": [edge("http://e.io/", "http://b.com/gone", anchor="old")],
    }  # fmt: skip
    writer.write([page(url, edges) for url, edges in first.items()])
    for hours in (1, 3):  # e.io drops its link, confirmed
        writer.write([page("http://e.io/", [], at=T0 + timedelta(hours=hours))])
    f = "http://f.dev/"
    writer.write([page(f, [edge(f, "http://b.com/new", anchor="B")], at=LATER)])
    return mongo_db


def run(db: Any, *argv: str) -> str:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = io.StringIO()
    command.output(db, parser.parse_args(list(argv)), out, width=250)
    return out.getvalue()


def test_default_report_json_and_alias(graph: Any) -> None:
    result = json.loads(run(graph, "b.com", "--json"))
    assert result == json.loads(run(graph, "b.com", "--format", "json"))
    assert (result["target"], result["by"], result["live_backlinks"]) == ("b.com", "domain", 5)
    assert result["referring_domains_count"] == 4
    assert result["backlinks"][0]["src"] == "http://f.dev/"  # newest first
    assert len(result["backlinks"]) == 5


@pytest.mark.parametrize(
    ("argv", "sources"),
    [
        (["--lost"], ["http://e.io/"]),
        (["--lost", "--since", (T0 + timedelta(hours=4)).isoformat()], []),
        (["--new", "--since", "2026-01-05"], ["http://f.dev/"]),
        (["--new", "--since", "2025-12-31"],
         ["http://f.dev/", "http://a.com/", "http://c.org/", "http://d.net/", "http://e.io/",
          "http://x.a.com/"]),
        (["--dofollow", "--new", "--since", "2025-12-31"],
         ["http://f.dev/", "http://a.com/", "http://c.org/", "http://d.net/", "http://e.io/"]),
        (["--one-per-domain"], ["http://a.com/", "http://c.org/", "http://d.net/",
                                "http://f.dev/"]),
        (["--one-per-domain", "--limit", "2"], ["http://a.com/", "http://c.org/"]),
    ],
)  # fmt: skip
def test_link_reports(graph: Any, argv: list[str], sources: list[str]) -> None:
    result = json.loads(run(graph, "b.com", "--format", "json", *argv))
    assert [row["src"] for row in result["rows"]] == sources


def test_lost_rows_say_why(graph: Any) -> None:
    (row,) = json.loads(run(graph, "b.com", "--lost", "--json"))["rows"]
    assert row["lost_reason"] == "removed"
    assert row["lost_at"] == (T0 + timedelta(hours=3)).isoformat()


def test_referring_domains_csv(graph: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(run(graph, "b.com", "--referring-domains",
                                               "--format", "csv"))))  # fmt: skip
    assert [(r["domain"], r["links"], r["dofollow"]) for r in rows] == [
        ("a.com", "2", "1"), ("c.org", "1", "1"), ("d.net", "1", "1"), ("f.dev", "1", "1"),
    ]  # fmt: skip


def test_anchor_distribution(graph: Any) -> None:
    rows = json.loads(run(graph, "b.com", "--anchors", "--json"))["rows"]
    assert [(r["anchor"], r["links"], r["dofollow"], r["referring_domains"]) for r in rows] == [
        ("B", 3, 2, 2), ("[img] logo", 1, 1, 1), ("cheap", 1, 1, 1),
    ]  # fmt: skip
    assert rows[0]["share"] == 0.6


def test_csv_has_fixed_link_columns(graph: Any) -> None:
    text = run(graph, "http://b.com/", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].split(",") == list(command.LINK_COLUMNS)
    assert sorted(r["src"] for r in rows) == ["http://a.com/", "http://d.net/"]
    empty = run(graph, "nobody.example", "--lost", "--format", "csv")
    assert empty.splitlines() == [",".join(command.LINK_COLUMNS)]


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        # Tables leave out the http:// of a URL.
        ([], ["5 live backlinks from 4 referring domains", " f.dev/ ", "sponsored"]),
        (["--lost"], [" e.io/ ", "removed"]),
        (["--anchors"], ["[img] logo", "cheap"]),
        (["--referring-domains"], ["a.com", "f.dev"]),
        (["--one-per-domain"], [" a.com/ ", " d.net/ "]),
    ],
)
def test_tables_render(graph: Any, argv: list[str], shown: list[str]) -> None:
    text = run(graph, "b.com", *argv)
    assert all(s in text for s in shown), text


def test_json_is_written_row_by_row() -> None:
    out = io.StringIO()

    def rows() -> Iterator[dict[str, Any]]:
        yield {"n": 1}
        # The first row is out before the second is produced.
        assert '{"n": 1}' in out.getvalue()
        yield {"n": 2}

    command.write_json({"target": "t"}, "rows", rows(), out)
    assert json.loads(out.getvalue()) == {"target": "t", "rows": [{"n": 1}, {"n": 2}]}


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "d"])
def test_bad_since(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        command.since_value(text)


def test_bad_target_is_a_usage_error(
    graph: Any, mongo_uri: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("REDIS_URL", "redis://unused.invalid:6379/0")
    monkeypatch.setenv("MONGODB_DATABASE", graph.name)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.run(parser.parse_args(["bad host!", "--json"])) == 2
    assert "not a URL, host or domain" in capsys.readouterr().err


def test_referring_domains_show_and_sort_by_rating(graph: Any) -> None:
    # What `backlinkbot rank` writes (ratings of the referring domains).
    for domain, rating in (("a.com", 12.5), ("c.org", 80.0), ("d.net", 40.0)):
        graph.domains.update_one({"_id": domain}, {"$set": {"rating": rating}}, upsert=True)
    by_links = json.loads(run(graph, "b.com", "--format", "json"))["referring_domains"]
    assert {r["domain"]: r["rating"] for r in by_links} == {
        "a.com": 12.5, "c.org": 80.0, "d.net": 40.0, "f.dev": None,
    }  # fmt: skip
    assert by_links[0]["domain"] == "a.com"  # two links
    by_rating = json.loads(run(graph, "b.com", "--format", "json", "--sort", "rating"))
    assert [r["domain"] for r in by_rating["referring_domains"]] == [
        "c.org", "d.net", "a.com", "f.dev",
    ]  # fmt: skip
    table = run(graph, "b.com", "--sort", "rating")
    assert table.index("c.org") < table.index("d.net") < table.index("a.com")
    assert "80.0" in table
