"""Long steps say how far they are; worker logs are one directory per crawl."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from backlinkbot.cli import main
from backlinkbot.commands.logdirs import new_log_dir
from backlinkbot.commands.progress import Progress, slow_step


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_in_a_log_is_a_line_per_stage_and_at_most_one_per_interval() -> None:
    out = io.StringIO()
    progress = Progress(out=out, every=3600)
    progress("reading", 0, None)
    for done in range(1, 100):
        progress("reading", done, None)
    progress("reading", 100, 100)
    progress("writing", 5, 10)
    progress("writing", 10, 10)
    assert out.getvalue().splitlines() == [
        "reading...",
        "reading: 100 of 100 (0 s)",
        "writing: 5 of 10 (0 s)",
        "writing: 10 of 10 (0 s)",
    ]


def test_progress_on_a_terminal_redraws_one_line() -> None:
    out = Terminal()
    progress = Progress(out=out)
    progress("queuing due pages", 1000, 3000)
    progress("queuing due pages", 3000, 3000)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 2
    assert text.endswith("queuing due pages: 3,000 of 3,000 (0 s)\n")


def test_a_slow_step_says_so_and_a_quick_one_says_nothing() -> None:
    out = io.StringIO()
    with slow_step("building indexes", after=0.05, out=out):
        time.sleep(0.2)
    assert out.getvalue().startswith("building indexes...\nbuilding indexes: done in 0.")
    quick = io.StringIO()
    with slow_step("building indexes", after=5, out=quick):
        pass
    assert quick.getvalue() == ""


def test_one_log_directory_per_crawl_and_only_the_newest_kept(tmp_path: Path) -> None:
    made = [new_log_dir(tmp_path, keep=3) for _ in range(5)]
    kept = sorted(p.name for p in tmp_path.iterdir() if p.name != "latest")
    assert kept == sorted(p.name for p in made[-3:])
    assert (tmp_path / "latest").resolve() == made[-1].resolve()


@pytest.fixture
def graph_env(
    mongo_db: Any, mongo_uri: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Any:
    from datetime import UTC, datetime, timedelta

    old = datetime.now(UTC) - timedelta(days=30)
    mongo_db.pages.insert_many([
        {"_id": f"http://a{i}.example/", "fetched_at": old, "status": 200} for i in range(3)
    ])  # fmt: skip
    mongo_db.links.insert_many([
        {"src": f"http://a{i}.example/", "dst": "http://b.example/", "src_host": f"a{i}.example",
         "dst_host": "b.example", "src_domain": f"a{i}.example", "dst_domain": "b.example"}
        for i in range(3)
    ])  # fmt: skip
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DATABASE", mongo_db.name)
    monkeypatch.setenv("REDIS_URL", redis_url)
    return mongo_db


def test_rank_shows_its_stages(graph_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", "--dry-run"]) == 0
    err = capsys.readouterr().err
    for stage in ("reading live links: 3 of 3", "scoring hosts...", "scoring domains..."):
        assert stage in err, err


def test_recrawl_dry_run_labels_its_columns(
    graph_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recrawl", "--dry-run"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "reason\tbacklinks\tlast fetched (UTC)\turl"
    assert len(lines) == 4 and all(line.startswith("stale\t") for line in lines[1:])
    assert "3 page(s) due; nothing queued (--dry-run)" in captured.err
