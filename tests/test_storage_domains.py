"""Per-domain counts: referring IPs and subnets, new and lost over 7/30 days."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from backlinkbot.storage.domains import count_domains, recount_all, recount_domains, subnet
from backlinkbot.storage.schema import ensure_indexes
from backlinkbot.storage.writer import GraphWriter

from .test_storage_writer import T0, edge, page


@pytest.mark.parametrize(
    ("ip", "net"),
    [
        ("192.0.2.77", "192.0.2.0/24"),
        ("10.1.2.3", "10.1.2.0/24"),
        ("2001:db8:1:2::1", "2001:db8:1::/48"),
        ("", None),
        (None, None),
        ("not-an-ip", None),
    ],
)
def test_subnet(ip: str | None, net: str | None) -> None:
    assert subnet(ip) == net


def test_counts_over_time_and_networks(mongo_db: Any) -> None:
    ensure_indexes(mongo_db)
    writer = GraphWriter(mongo_db)
    sources = [
        ("http://a.com/", "192.0.2.1", T0),
        ("http://x.a.com/", "192.0.2.2", T0),  # same /24 as a.com
        ("http://c.org/", "198.51.100.1", T0 + timedelta(days=25)),
        ("http://d.net/", None, T0 + timedelta(days=28)),
    ]
    for src, ip, at in sources:
        item = page(src, [edge(src, "http://b.com/", nofollow=src.startswith("http://d"))], at=at)
        item.ip = ip
        writer.write([item])
    # c.org drops its link, confirmed a day later.
    for days in (29, 30):
        writer.write([page("http://c.org/", [], at=T0 + timedelta(days=days))])
    now = T0 + timedelta(days=31)
    row = count_domains(mongo_db, ["b.com"], now=now)["b.com"]
    assert row == {
        "backlinks": 3, "backlinks_dofollow": 2, "backlinks_nofollow": 1,
        "referring_domains": 2, "referring_hosts": 3, "referring_ips": 2,
        "referring_subnets": 1, "new_7d": 2, "new_30d": 2, "lost_7d": 1, "lost_30d": 1,
    }  # fmt: skip
    assert recount_domains(mongo_db, ["b.com", "none.example"], now=now) == 2
    assert mongo_db.domains.find_one({"_id": "none.example"})["backlinks"] == 0


def test_batch_job_matches_per_domain_counts(mongo_db: Any) -> None:
    ensure_indexes(mongo_db)
    writer = GraphWriter(mongo_db)
    for i in range(12):
        src = f"http://s{i}.org/"
        item = page(src, [edge(src, f"http://t{i % 3}.com/"), edge(src, "http://hub.net/")],
                    at=T0 + timedelta(days=i))  # fmt: skip
        item.ip = f"10.0.{i % 2}.{i}"
        writer.write([item])
    # t9's only link goes away: t0.com keeps others, and a lost-only domain.
    for days in (20, 21):
        writer.write([page("http://s9.org/", [], at=T0 + timedelta(days=days))])
    now = T0 + timedelta(days=22)
    expected = count_domains(mongo_db, ["t0.com", "t1.com", "t2.com", "hub.net"], now=now)
    assert recount_all(mongo_db, now=now, chunk=2) == 4
    stored = {d["_id"]: d for d in mongo_db.domains.find()}
    for domain, counts in expected.items():
        assert {k: stored[domain][k] for k in counts} == counts, domain
    assert stored["hub.net"]["backlinks"] == 11 and stored["hub.net"]["lost_7d"] == 1


def test_recount_reads_a_few_domains_at_a_time(mongo_db: Any, monkeypatch: Any) -> None:
    ensure_indexes(mongo_db)
    writer = GraphWriter(mongo_db)
    for i in range(7):
        src = f"http://s{i}.org/"
        writer.write([page(src, [edge(src, f"http://t{j}.com/") for j in range(i + 1)], at=T0)])
    domains = [f"t{j}.com" for j in range(7)]
    expected = count_domains(mongo_db, domains, now=T0)
    monkeypatch.setattr("backlinkbot.storage.domains.RECOUNT_CHUNK", 3)
    assert recount_domains(mongo_db, domains, now=T0) == 7
    stored = {d["_id"]: d for d in mongo_db.domains.find()}
    for domain, counts in expected.items():
        assert {k: stored[domain][k] for k in counts} == counts, domain
    assert [stored[f"t{j}.com"]["backlinks"] for j in range(7)] == [7, 6, 5, 4, 3, 2, 1]


def test_sink_recount_leaves_big_domains_to_the_batch_job(mongo_db: Any) -> None:
    ensure_indexes(mongo_db)
    writer = GraphWriter(mongo_db)
    for i in range(3):
        src = f"http://s{i}.org/"
        writer.write([page(src, [edge(src, "http://hub.net/")])])
    assert recount_domains(mongo_db, ["hub.net"], max_links=2) == 1  # not counted yet
    assert recount_domains(mongo_db, ["hub.net"], max_links=2) == 0  # now known as big
    assert recount_domains(mongo_db, ["hub.net"]) == 1


def _random_links(mongo_db: Any, seed: int) -> list[str]:
    """Link documents as the writer stores them, with what the counts read
    varied at random: a missing, null or empty IP, nofollow, first seen over
    60 days, lost or live. Returns the target domains."""
    rng = random.Random(seed)
    targets = [f"t{j}.com" for j in range(6)]
    docs = []
    for i in range(600):
        src = rng.randrange(40)
        doc: dict[str, Any] = {
            "_id": f"e{i}", "dst_domain": rng.choice(targets), "src_domain": f"s{src % 25}.org",
            "src_host": f"h{src}.s{src % 25}.org", "nofollow": rng.random() < 0.3,
            "first_seen": T0 - timedelta(days=rng.randrange(60)),
            "lost_at": None if rng.random() < 0.8 else T0 - timedelta(days=rng.randrange(40)),
        }  # fmt: skip
        ip = rng.choice(["missing", None, "", f"10.{src % 3}.{src}.1", f"2001:db8:{src}::1"])
        if ip != "missing":
            doc["src_ip"] = ip
        docs.append(doc)
    mongo_db.links.insert_many(docs)
    return targets


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_server_grouped_counts_equal_counts_from_the_links(mongo_db: Any, seed: int) -> None:
    ensure_indexes(mongo_db)
    targets = _random_links(mongo_db, seed)
    grouped = count_domains(mongo_db, [*targets, "none.example"], now=T0)
    # The batch job counts each domain from its links, in Python.
    assert recount_all(mongo_db, now=T0) == len(targets)
    stored = {d["_id"]: d for d in mongo_db.domains.find()}
    for domain in targets:
        assert grouped[domain] == {k: stored[domain][k] for k in grouped[domain]}, domain
    assert grouped["none.example"]["backlinks"] == 0
    live = [d for d in mongo_db.links.find({}, {"lost_at": 1}) if d.get("lost_at") is None]
    assert sum(grouped[d]["backlinks"] for d in targets) == len(live) > 0


def test_a_group_the_server_refuses_is_counted_from_the_links(
    mongo_db: Any, monkeypatch: Any, caplog: Any
) -> None:
    ensure_indexes(mongo_db)
    targets = _random_links(mongo_db, 4)
    expected = count_domains(mongo_db, targets, now=T0)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OperationFailure("BSONObjectTooLarge", code=10334)

    monkeypatch.setattr("backlinkbot.storage.domains._grouped_live", refuse)
    with caplog.at_level("INFO", logger="backlinkbot.storage.domains"):
        assert count_domains(mongo_db, targets, now=T0) == expected
    assert "refused to group them (10334)" in caplog.text
