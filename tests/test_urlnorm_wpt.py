"""URL normalization against the web-platform-tests URL suite.

tests/data/url/urltestdata.json and toascii.json are the WPT files (see
tests/data/url/ORIGIN.md). For every case that resolves to an ``http`` or
``https`` URL, :func:`resolve_url` must give the expected href exactly and
:func:`normalize_url` must agree with it; every case marked ``failure`` must
be rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backlinkbot.urlnorm import InvalidURL, normalize_url, resolve_url, url_host

DATA = Path(__file__).parent / "data" / "url"


def _cases(name: str) -> list[dict[str, Any]]:
    # The files mix test objects with comment strings.
    entries = json.loads((DATA / name).read_text("utf-8"))
    return [entry for entry in entries if isinstance(entry, dict)]


def _id(case: dict[str, Any]) -> str:
    text = f"{case['input']!r} base={case.get('base')!r}"
    return text if len(text) <= 80 else f"{text[:77]}..."


URLTESTDATA = _cases("urltestdata.json")
HTTP_CASES = [c for c in URLTESTDATA if c.get("protocol") in ("http:", "https:")]
OTHER_SCHEME_CASES = [c for c in URLTESTDATA if "href" in c and c not in HTTP_CASES]
FAILURE_CASES = [c for c in URLTESTDATA if c.get("failure")]
TOASCII = _cases("toascii.json")

# Cases where normalize_url deliberately departs from the URL Standard, with
# the reason (docs/URL_NORMALIZATION.md, "Deviations").
_DOTS_ONLY = "a host made only of dots is empty once the trailing dot is dropped"
_NUMBER_LAST = (
    "without its trailing dots the host ends in a label that the URL Standard reads as"
    " an IPv4 number, and '09' is not one"
)
NORMALIZE_DEVIATIONS = {
    ("http://./", None): _DOTS_ONLY,
    ("http://../", None): _DOTS_ONLY,
    ("http://foo.09..", None): _NUMBER_LAST,
}


Deviations = dict[tuple[str, str | None], str]


def _params(cases: list[dict[str, Any]], deviations: Deviations) -> list[Any]:
    params = []
    for case in cases:
        reason = deviations.get((case["input"], case["base"]))
        marks = [pytest.mark.xfail(strict=True, raises=InvalidURL, reason=reason)] if reason else []
        params.append(pytest.param(case, id=_id(case), marks=marks))
    return params


def test_suite_sizes() -> None:
    # A guard against a truncated or replaced data file.
    assert len(URLTESTDATA) == 891
    assert len(HTTP_CASES) == 247
    assert len(FAILURE_CASES) == 267
    assert len(TOASCII) == 87


@pytest.mark.parametrize("case", _params(HTTP_CASES, {}))
def test_resolve_http(case: dict[str, Any]) -> None:
    assert resolve_url(case["input"], case["base"]) == case["href"]


@pytest.mark.parametrize("case", _params(OTHER_SCHEME_CASES, {}))
def test_resolve_other_schemes(case: dict[str, Any]) -> None:
    # Not required of a crawler, but resolve_url is step 1 for any scheme.
    assert resolve_url(case["input"], case["base"]) == case["href"]


@pytest.mark.parametrize("case", _params(FAILURE_CASES, {}))
def test_failure_is_rejected(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidURL) as resolved:
        resolve_url(case["input"], case["base"])
    assert resolved.value.reason == "unparsable"
    with pytest.raises(InvalidURL) as normalized:
        normalize_url(case["input"], case["base"])
    assert normalized.value.reason == "unparsable"


@pytest.mark.parametrize("case", _params(HTTP_CASES, NORMALIZE_DEVIATIONS))
def test_normalize_http(case: dict[str, Any]) -> None:
    url = normalize_url(case["input"], case["base"])
    # Step 3: scheme, host and port as the URL Standard parsed them, minus a
    # trailing dot; no userinfo.
    host = case["hostname"].rstrip(".")
    port = f":{case['port']}" if case["port"] else ""
    assert url.startswith(f"{case['protocol']}//{host}{port}/")
    assert url_host(url) == host
    # Step 4: no fragment.
    assert "#" not in url
    # Steps 3-7 only depend on the resolved URL, and they are idempotent.
    assert normalize_url(case["href"]) == url
    assert normalize_url(url) == url


@pytest.mark.parametrize("case", _params(OTHER_SCHEME_CASES, {}))
def test_normalize_other_schemes(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidURL) as excinfo:
        normalize_url(case["input"], case["base"])
    assert excinfo.value.reason == "scheme"


@pytest.mark.parametrize("case", TOASCII, ids=[repr(c["input"])[:60] for c in TOASCII])
def test_toascii(case: dict[str, Any]) -> None:
    # As WPT's url/toascii.window.js does it: the input as the host of an
    # https URL, which must give the expected host or fail.
    url = f"https://{case['input']}/x"
    if case["output"] is None:
        with pytest.raises(InvalidURL):
            resolve_url(url)
        with pytest.raises(InvalidURL):
            normalize_url(url)
    else:
        assert resolve_url(url) == f"https://{case['output']}/x"
        assert url_host(normalize_url(url)) == case["output"].rstrip(".")
