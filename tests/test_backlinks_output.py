"""Reports fit the terminal: one line per row at its width, long URLs
shortened in the middle, the limit said when rows were left out; JSON and
CSV have every row and the full values."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from backlinkbot.commands.fit import Column, fit_table, shorten
from backlinkbot.storage.schema import ensure_indexes
from backlinkbot.storage.writer import GraphWriter

from .crawling import backlinkbot, command_env, crawl_env
from .terminal import Terminal
from .test_storage_writer import edge, page

pytestmark = pytest.mark.e2e

LINKS = 145
LONG = "/a-rather-long-path/that-goes-on/and-on/to-the-page-" + "x" * 40


@pytest.fixture
def graph(mongo_db: Any) -> Any:
    """145 links into target.example, from long URLs on 145 sites."""
    ensure_indexes(mongo_db)
    pages = []
    for n in range(LINKS):
        src = f"http://www.site{n:03d}.example{LONG}"
        dst = f"http://www.target.example/products/{n:03d}{LONG}"
        pages.append(page(src, [edge(src, dst, anchor=f"anchor text number {n} " * 4)]))
    GraphWriter(mongo_db).write(pages)
    return mongo_db


@pytest.fixture
def env(graph: Any, redis_url: str, mongo_uri: str, redis_prefix: str) -> dict[str, str]:
    return command_env(**crawl_env(
        redis_url=redis_url, mongo_uri=mongo_uri, database=graph.name, prefix=redis_prefix,
    ))  # fmt: skip


@pytest.mark.parametrize("columns", [80, 132])
def test_the_table_fits_the_terminal(env: dict[str, str], columns: int) -> None:
    terminal = Terminal(["backlinks", "target.example"], env, columns=columns)
    assert terminal.wait(timeout=120) == 0, terminal.text
    lines = terminal.plain.splitlines()
    assert max(len(line) for line in lines) <= columns, lines
    rows = [line for line in lines if "www.site" in line]
    assert len(rows) == 50, "\n".join(lines[-60:])  # one line per row, the default limit
    assert all("…" in row for row in rows)  # URLs shortened in the middle
    assert rows[0].lstrip().startswith("www.site")  # ...keeping their start
    # Both tables say what they left out.
    assert terminal.plain.count(f"50 of {LINKS}; --limit 0 for all") == 2
    # 50 rows in 6-character-wide columns took 435 lines.
    assert len(lines) < 120


def test_json_and_csv_have_every_row_and_full_values(env: dict[str, str]) -> None:
    done = backlinkbot("backlinks", "target.example", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["backlinks"]) == LINKS
    assert all(b["src"].endswith(LONG) for b in report["backlinks"])
    assert "of" not in done.stderr

    done = backlinkbot("backlinks", "target.example", "--format", "csv", env=env)
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == LINKS and all(r["dst"].endswith(LONG) for r in rows)

    cut = backlinkbot("backlinks", "target.example", "--format", "csv", "--limit", "10", env=env)
    assert len(cut.stdout.splitlines()) == 11
    assert f"10 of {LINKS} rows (--limit 0 for all)" in cut.stderr


def test_the_limit_is_stated_in_help(env: dict[str, str]) -> None:
    done = backlinkbot("backlinks", "--help", env=env)
    assert "50 in a table, all in JSON and CSV" in " ".join(done.stdout.split())


def test_since_takes_any_duration_and_bad_targets_are_usage_mistakes(
    env: dict[str, str],
) -> None:
    for since in ("12h", "90m", "2w", "30d", "2026-01-01"):
        done = backlinkbot("backlinks", "target.example", "--new", "--since", since, "--json",
                           env=env)  # fmt: skip
        assert done.returncode == 0, (since, done.stderr)
    done = backlinkbot("backlinks", "garbage!!", env=env)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("not a URL, host or domain: 'garbage!!'")


def test_shorten() -> None:
    url = "www.example.com/a/very/long/path/to/pricing"
    assert shorten(url, 20, "middle") == "www.example.c…ricing"
    assert shorten(url, 20) == "www.example.com/a/v…"
    assert shorten("short", 20, "middle") == "short"


def test_a_table_drops_columns_that_say_least_before_it_overflows() -> None:
    columns = [Column("url", shorten="middle"), Column("when", drop=1), Column("kind", drop=2)]
    rows = [["x" * 100, "2026-01-01", "redirect"]]

    def rendered(width: int) -> Iterator[str]:
        from rich.console import Console

        out = io.StringIO()
        Console(file=out, width=width).print(fit_table("t", columns, rows, width=width))
        return iter(out.getvalue().splitlines())

    wide = list(rendered(200))
    assert "when" in wide[1] and "kind" in wide[1] and "x" * 100 in wide[3]
    narrow = list(rendered(30))
    assert "when" not in narrow[1] and "kind" in narrow[1]
    assert all(len(line) <= 30 for line in narrow)
