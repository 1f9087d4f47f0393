"""The spacing kept when a request is sent (frontier.spacing): host and
address turns moved on, or waited for, for requests sent after their turn."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from scrapy import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.test import get_crawler
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import Clock

from backlinkbot.connection import CrawlKeys
from backlinkbot.downloadermiddlewares.addressspacing import AddressSpacing
from backlinkbot.downloadermiddlewares.robotstxt import ROBOTS_WAITED
from backlinkbot.downloadhandlers.http import _SpacingConnectionPool
from backlinkbot.embedded.servers import free_port
from backlinkbot.frontier.queue import FrontierQueue
from backlinkbot.frontier.spacing import IP_SPACED, LATE, TURN, Spacing
from tests.test_frontier import make_queue

ADDRESS = "192.0.2.1"


def _late_sends(redis_url: str, prefix: str) -> Spacing:
    crawler = get_crawler(settings_dict={"REDIS_URL": redis_url,
                                         "BACKLINKBOT_REDIS_PREFIX": prefix})  # fmt: skip
    return Spacing.from_crawler(crawler)


def _no_redis_call(spacing: Spacing) -> None:
    """Make any Redis call of ``spacing`` fail the test."""

    def call(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a Redis call")

    spacing.server = spacing.take_address_script = spacing.move_turns_script = call


def _send(step: Any, request: Request) -> float:
    """Seconds ``request`` spent in ``step``: a downloader middleware, or
    the download handler's late-send check."""

    async def run() -> float:
        start = time.monotonic()
        if isinstance(step, Spacing):
            await step.before_send(request)
        else:
            assert await step.process_request(request) is None
        return time.monotonic() - start

    return asyncio.run(run())


def _redis_now(redis_client: Any) -> float:
    seconds, micros = redis_client.time()
    return float(seconds + micros / 1e6)


def _queues(redis_client: Any, redis_url: str, prefix: str, **settings: Any) -> list[FrontierQueue]:
    return [
        make_queue(redis_client, redis_url, prefix, BACKLINKBOT_WORKER_ID=worker, **settings)
        for worker in ("w1", "w2")
    ]


def _first_of_host(
    redis_client: Any, redis_url: str, prefix: str, *, delay: float, pages: int
) -> tuple[FrontierQueue, Request]:
    """``pages`` pages of a.com queued with a host delay of ``delay``: a
    second worker's queue, and the request the first worker took."""
    one, two = _queues(redis_client, redis_url, prefix, BACKLINKBOT_HOST_DELAY=delay)
    for i in range(pages):
        one.push(Request(f"http://a.com/{i}", priority=-i))
    (first,) = one.pop_many(4)
    return two, first


def _next_pop_waits_for(queue: FrontierQueue, redis_client: Any, turn: float, url: str) -> None:
    """``queue``'s pop gets nothing before ``turn`` (Redis time), then ``url``."""
    assert queue.pop_many(4) == []
    time.sleep(max(0.0, turn - _redis_now(redis_client)) + 0.02)
    assert [r.url for r in queue.pop_many(4)] == [url]


def _moved_on_once(
    late_sends: Spacing, queue: FrontierQueue, redis_client: Any, prefix: str,
    *, delay: float,
) -> None:  # fmt: skip
    """The request just sent was late once, and moved a.com's next turn to
    one delay from now: ``queue``'s pop hands a.com/1 out no earlier."""
    sent = _redis_now(redis_client)
    assert late_sends.stats.get_value("backlinkbot/frontier/late_sends") == 1
    next_turn = redis_client.zscore(CrawlKeys(prefix).hosts, "a.com")
    assert abs(next_turn - (sent + delay)) < 0.05
    time.sleep(0.2)
    _next_pop_waits_for(queue, redis_client, next_turn, "http://a.com/1")


def test_a_request_sent_on_time_costs_no_redis_call(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    one, _ = _queues(redis_client, redis_url, redis_prefix, BACKLINKBOT_HOST_DELAY=0.4)
    one.push(Request("http://a.com/1"))
    (request,) = one.pop_many(4)
    asked, at, host_turn, ip_at, ip_turn = request.meta[TURN]
    assert 0 <= time.monotonic() - asked < 0.1 and abs(at - _redis_now(redis_client)) < 0.1
    assert abs(host_turn - 0.4) < 1e-3 and ip_at == ip_turn == 0
    late_sends = _late_sends(redis_url, redis_prefix)
    _no_redis_call(late_sends)
    assert _send(late_sends, request) < LATE
    assert late_sends.stats.get_value("backlinkbot/frontier/late_sends") is None


def test_a_request_without_a_delay_has_no_turn(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    one, _ = _queues(redis_client, redis_url, redis_prefix, BACKLINKBOT_HOST_DELAY=0)
    # A retry's copy is queued with the turn of its first try; popped again
    # without a delay it has none.
    one.push(Request("http://a.com/1", meta={TURN: [0.0, 1.0, 0.5, 0.0, 0.0]}))
    (request,) = one.pop_many(4)
    assert TURN not in request.meta


def test_a_late_request_moves_its_hosts_next_turn_on(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    two, late = _first_of_host(redis_client, redis_url, redis_prefix, delay=0.4, pages=2)
    time.sleep(0.25)  # the worker was busy
    late_sends = _late_sends(redis_url, redis_prefix)
    assert _send(late_sends, late) < 0.1
    # The pop alone would have handed the next request out 0.4 s after the
    # first pop, 0.15 s after the late request was sent.
    _moved_on_once(late_sends, two, redis_client, redis_prefix, delay=0.4)


def test_a_request_later_than_its_turn_waits_for_the_one_taken_since(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    two, late = _first_of_host(redis_client, redis_url, redis_prefix, delay=0.3, pages=3)
    time.sleep(0.35)
    (on_time,) = two.pop_many(4)  # the next turn, taken and sent at once
    taken_at = time.monotonic()
    late_sends = _late_sends(redis_url, redis_prefix)
    waited = _send(late_sends, late)
    # It goes one delay after the request that took the host's turn...
    assert time.monotonic() - taken_at >= 0.3 - 0.03, waited
    assert late_sends.stats.get_value("backlinkbot/frontier/late_send_waits") == 1
    # ... and the host's next turn is one delay after it.
    next_turn = redis_client.zscore(CrawlKeys(redis_prefix).hosts, "a.com")
    assert abs(next_turn - (_redis_now(redis_client) + 0.3)) < 0.05
    assert on_time.url == "http://a.com/1"


def test_a_late_request_moves_its_addresses_next_turn_on(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    settings = {"BACKLINKBOT_HOST_DELAY": 0, "BACKLINKBOT_IP_DELAY": 0.3}
    one, two = _queues(redis_client, redis_url, redis_prefix, **settings)
    keys = CrawlKeys(redis_prefix)
    redis_client.hset(keys.host_ip, mapping={"a.com": ADDRESS, "b.com": ADDRESS})
    one.push(Request("http://a.com/"))
    (late,) = one.pop_many(4)
    assert late.meta[IP_SPACED] and late.meta[TURN][3:] == [late.meta[TURN][1], 0.3]
    one.push(Request("http://b.com/"))  # another host at the address
    time.sleep(0.15)
    late_sends = _late_sends(redis_url, redis_prefix)
    assert _send(late_sends, late) < 0.1
    free = float(redis_client.hget(keys.ip_ready, ADDRESS))
    assert abs(free - (_redis_now(redis_client) + 0.3)) < 0.05
    time.sleep(0.2)  # past the pop's own turn for the address
    _next_pop_waits_for(two, redis_client, free, "http://b.com/")


def _address_spacing(redis_url: str, prefix: str, **settings: Any) -> AddressSpacing:
    crawler = get_crawler(settings_dict={
        "REDIS_URL": redis_url, "BACKLINKBOT_REDIS_PREFIX": prefix, **settings,
    })  # fmt: skip
    address_spacing = AddressSpacing.from_crawler(crawler)

    async def resolve(host: str) -> str:
        return ADDRESS

    address_spacing.resolve = resolve
    return address_spacing


def test_an_address_taken_at_send_time_is_not_taken_again(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    """A spaced request that waited for its host's robots.txt takes its
    address again before it is sent (AddressSpacing): the late-send check
    does not make it wait a second delay."""
    settings = {"BACKLINKBOT_HOST_DELAY": 0, "BACKLINKBOT_IP_DELAY": 0.3}
    (one, _) = _queues(redis_client, redis_url, redis_prefix, **settings)
    address_spacing = _address_spacing(redis_url, redis_prefix, **settings)
    late_sends = _late_sends(redis_url, redis_prefix)
    redis_client.hset(CrawlKeys(redis_prefix).host_ip, "a.com", ADDRESS)
    one.push(Request("http://a.com/"))
    (request,) = one.pop_many(4)
    popped = request.meta[TURN][1]
    request.meta[ROBOTS_WAITED] = True
    time.sleep(0.1)
    _send(address_spacing, request)
    _send(late_sends, request)
    # Sent when the pop's turn of the address ended: one delay, not two.
    assert popped + 0.3 - 0.01 <= _redis_now(redis_client) < popped + 0.3 + 0.15
    # The request's turn of the address is the one taken before sending.
    assert abs(request.meta[TURN][3] - (_redis_now(redis_client) - 0.01)) < 0.05
    assert late_sends.stats.get_value("backlinkbot/frontier/late_sends") == 1
    assert late_sends.stats.get_value("backlinkbot/frontier/late_send_waits") is None


def test_a_host_waiting_for_the_address_this_request_took_is_not_taken(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    """A first contact takes its address before it is sent (AddressSpacing);
    another worker's pop then finds the host's address busy and moves the
    host's next turn to the address's. That is not a turn of the host taken
    by another request: the late request goes at once, not when the address
    is free again (when another request to the address may go too)."""
    settings = {"BACKLINKBOT_HOST_DELAY": 0, "BACKLINKBOT_IP_DELAY": 0.3}
    one, two = _queues(redis_client, redis_url, redis_prefix, **settings)
    for i in range(2):
        one.push(Request(f"http://a.com/{i}", priority=-i))
    (first,) = one.pop_many(4)
    assert not first.meta.get(IP_SPACED)  # nobody knows a.com's address yet
    time.sleep(0.32)  # a.com's next turn has come
    address_spacing = _address_spacing(redis_url, redis_prefix, **settings)
    assert _send(address_spacing, first) < 0.1  # records and takes the address
    assert two.pop_many(4) == []  # a.com waits for its address now
    keys = CrawlKeys(redis_prefix)
    assert redis_client.zscore(keys.hosts, "a.com") == float(
        redis_client.hget(keys.ip_ready, ADDRESS)
    )
    late_sends = _late_sends(redis_url, redis_prefix)
    assert _send(late_sends, first) < 0.1
    assert late_sends.stats.get_value("backlinkbot/frontier/late_sends") == 1
    assert late_sends.stats.get_value("backlinkbot/frontier/late_send_waits") is None


def test_redis_away_lets_late_requests_pass_and_counts(redis_prefix: str) -> None:
    late_sends = _late_sends(f"redis://127.0.0.1:{free_port()}/0", redis_prefix)
    request = Request("http://a.com/", meta={TURN: [time.monotonic() - 1, 1.0, 0.5, 0.0, 0.0]})
    assert _send(late_sends, request) < 1.0
    assert late_sends.stats.get_value("backlinkbot/frontier/redis_errors") == 1
    assert late_sends.outage.waiting()


class _Connecting:
    """An endpoint whose connection opens when the test says so."""

    def __init__(self) -> None:
        self.opening: Deferred[Any] = Deferred()

    def connect(self, factory: Any) -> Deferred[Any]:
        return self.opening


def _open_connection(
    late_sends: Spacing, request: Request | None, *, connecting: float
) -> tuple[Any, Deferred[Any], Any]:
    """A new connection for ``request`` from the handler's pool, taking
    ``connecting`` seconds to open: (what the pool handed out, the
    endpoint's own Deferred, the time it was open)."""

    async def run() -> tuple[Any, Deferred[Any], Any]:
        pool = _SpacingConnectionPool(Clock(), late_sends)
        endpoint = _Connecting()
        pool.sending = request
        handed = pool._newConnection(("http", b"a.com", 80), endpoint)
        assert pool.sending is None  # a later retry's connection is not looked at
        await asyncio.sleep(connecting)
        endpoint.opening.callback("connection")
        opened = time.monotonic()
        assert await maybe_deferred_to_future(handed) == "connection"
        return handed, endpoint.opening, opened

    return asyncio.run(run())


def test_a_new_connection_that_opens_late_moves_the_hosts_next_turn_on(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    """The request is on time when the handler hands it out, but its new
    connection takes 0.25 s to open: the host's next turn moves on then."""
    two, request = _first_of_host(redis_client, redis_url, redis_prefix, delay=0.4, pages=2)
    late_sends = _late_sends(redis_url, redis_prefix)
    assert _send(late_sends, request) < LATE  # on time: no Redis call
    assert late_sends.stats.get_value("backlinkbot/frontier/late_sends") is None
    _open_connection(late_sends, request, connecting=0.25)
    _moved_on_once(late_sends, two, redis_client, redis_prefix, delay=0.4)


def test_a_turn_taken_when_handed_out_is_not_taken_again_at_connection(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    """Late when the handler hands it out, the request moves its host's
    turn on (and keeps that turn as its own); its new connection then opens
    late too: it moves the turn on again without waiting for it."""
    _, request = _first_of_host(redis_client, redis_url, redis_prefix, delay=0.4, pages=2)
    time.sleep(0.2)
    late_sends = _late_sends(redis_url, redis_prefix)
    assert _send(late_sends, request) < 0.1
    _, _, opened = _open_connection(late_sends, request, connecting=0.15)
    assert time.monotonic() - opened < 0.1
    assert late_sends.stats.get_value("backlinkbot/frontier/late_sends") == 2
    assert late_sends.stats.get_value("backlinkbot/frontier/late_send_waits") is None
    next_turn = redis_client.zscore(CrawlKeys(redis_prefix).hosts, "a.com")
    assert abs(next_turn - (_redis_now(redis_client) + 0.4)) < 0.05


def test_a_connection_for_a_request_without_turns_is_handed_out_as_opened(
    redis_url: str, redis_prefix: str
) -> None:
    late_sends = _late_sends(redis_url, redis_prefix)
    _no_redis_call(late_sends)
    for request in (Request("http://a.com/"), None):
        handed, opening, _ = _open_connection(late_sends, request, connecting=0.1)
        assert handed is opening


def test_a_connection_cancelled_while_its_request_waits_is_closed(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    """The download times out while the request waits for a turn taken
    since: the connection opened for it is closed, not left open."""
    two, late = _first_of_host(redis_client, redis_url, redis_prefix, delay=0.5, pages=3)
    time.sleep(0.55)
    assert len(two.pop_many(4)) == 1  # the host's next turn, taken
    late_sends = _late_sends(redis_url, redis_prefix)

    class Connection:
        aborted = False

        def abort(self) -> None:
            self.aborted = True

    connection = Connection()

    async def run() -> None:
        pool = _SpacingConnectionPool(Clock(), late_sends)
        endpoint = _Connecting()
        pool.sending = late
        handed = pool._newConnection(("http", b"a.com", 80), endpoint)
        endpoint.opening.callback(connection)
        await asyncio.sleep(0.1)  # waiting for the turn taken since
        assert not connection.aborted
        handed.cancel()
        with pytest.raises((CancelledError, asyncio.CancelledError)):
            await maybe_deferred_to_future(handed)

    asyncio.run(run())
    assert connection.aborted
    assert late_sends.stats.get_value("backlinkbot/frontier/late_send_waits") == 1
