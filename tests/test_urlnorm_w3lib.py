"""w3lib's own safe_url_string and canonicalize_url vectors, run against normalize_url.

The vectors are run from w3lib's own sdist, not copied:
``tests/data/url/w3lib/w3lib-2.5.0.tar.gz`` is the release as published
(see ``ORIGIN.md`` beside it; its SHA-256 is checked here), and its
``tests/test_url.py`` is read out of it. Its case tables are taken by
running that module (it imports the installed w3lib, pinned to 2.5), and its literal
``assert safe_url_string(...) == ...`` and ``assert canonicalize_url(...) ==
...`` lines by reading its syntax tree.

Each vector says that w3lib maps an input to an output, or rejects it. Where
our documented rules apply (an http(s) URL, no option but ``encoding``), the
input must name the same page as the output: ``normalize_url(input,
encoding=...) == normalize_url(output)``, or both are rejected. Vectors on
other schemes or other options are counted, not run; the disagreements are
strict xfails with their reason (docs/URL_NORMALIZATION.md).
"""

from __future__ import annotations

import ast
import hashlib
import tarfile
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from backlinkbot.urlnorm import InvalidURL, normalize_url

SDIST = Path(__file__).parent / "data" / "url" / "w3lib" / "w3lib-2.5.0.tar.gz"
#: The sdist's SHA-256 as PyPI publishes it.
SHA256 = "a7ddf714508ddc1b8563bd19ace2feb28080bbaca39326cbc964359f6754f615"
MEMBER = "w3lib-2.5.0/tests/test_url.py"
_FUNCTIONS = ("safe_url_string", "canonicalize_url")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))

#: (function, input, encoding) -> why our rules disagree with w3lib there.
DISAGREEMENTS: dict[tuple[str, str, str | None], str] = {
    ("safe_url_string", "http://[v6a.ip]", None): (
        "the URL Standard rejects a bracketed host that is not an IPv6 address"
    ),
    ("safe_url_string", 'https://example.com/"%<>[]^`{|}\x7f', None): (
        "a % that starts no escape stays, as the URL Standard leaves it (w3lib's vector wants"
        " %25 and is a known issue of w3lib's own)"
    ),
    ("safe_url_string", "http://.\xe9xampl\xe9.com:80/?q=a", "utf-16"): (
        "a UTF-16 page's queries are encoded from UTF-8 (URL Standard, 'get an output"
        " encoding'); w3lib encodes UTF-16"
    ),
    ("canonicalize_url", "http://www.example.com/r\xe9sum\xe9?currency=\u20ac", "latin1"): (
        "latin1 is windows-1252 to browsers, which has the euro sign; w3lib falls back to UTF-8"
    ),
    (
        "canonicalize_url",
        "http://www.example.com/r\xe9sum\xe9?country=\u0420\u043e\u0441\u0441\u0438\u044f",
        "latin1",
    ): (
        "a character the encoding lacks becomes an escaped character reference (URL Standard);"
        " w3lib falls back to UTF-8 for the whole query"
    ),
}


@cache
def _source() -> str:
    """w3lib's ``tests/test_url.py``, out of the sdist."""
    with tarfile.open(SDIST) as sdist:
        member = sdist.extractfile(MEMBER)
        assert member is not None, f"{MEMBER} is not a file of {SDIST.name}"
        return member.read().decode("utf-8")


@cache
def _module() -> ModuleType:
    module = ModuleType("w3lib_test_url")
    module.__file__ = f"{SDIST}/{MEMBER}"
    exec(compile(_source(), module.__file__, "exec"), module.__dict__)
    return module


def _asserted() -> list[tuple[str, Any, dict[str, Any], Any]]:
    """``(function, input, keywords, output)`` of every literal
    ``assert f(...) == output`` in the file."""
    found = []
    for node in ast.walk(ast.parse(_source())):
        if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
            continue
        call, ops, right = node.test.left, node.test.ops, node.test.comparators
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            continue
        if call.func.id not in _FUNCTIONS or len(ops) != 1 or not isinstance(ops[0], ast.Eq):
            continue
        try:
            args = [ast.literal_eval(arg) for arg in call.args]
            keywords = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
            output = ast.literal_eval(right[0])
        except ValueError:
            continue  # not a literal: computed inside the test
        if len(args) == 1 and len(keywords) == len(call.keywords):
            found.append((call.func.id, args[0], keywords, output))
    return found


@cache
def vectors() -> list[tuple[str, Any, dict[str, Any], Any]]:
    module = _module()
    found = [
        ("safe_url_string", url, {"encoding": enc}, out)
        for enc, url, out in module.SAFE_URL_ENCODING_CASES
    ]
    found += [("safe_url_string", url, {}, out) for url, out in module.SAFE_URL_URL_CASES]
    found += _asserted()
    unique: dict[str, tuple[str, Any, dict[str, Any], Any]] = {}
    for vector in found:
        unique.setdefault(repr(vector), vector)
    return list(unique.values())


def _web(url: object) -> bool:
    return isinstance(url, str) and url.lstrip(_C0_OR_SPACE).lower().startswith(
        ("http://", "https://")
    )


def _applies(vector: tuple[str, Any, dict[str, Any], Any]) -> bool:
    """Our rules speak of it: an http(s) str input, only ``encoding`` as an
    option, and an http(s) output or a rejection."""
    _, url, keywords, output = vector
    rejected = isinstance(output, type) and issubclass(output, Exception)
    return _web(url) and set(keywords) <= {"encoding"} and (rejected or _web(output))


def _normalized(url: str, encoding: str | None = None) -> str | None:
    try:
        return normalize_url(url, encoding=encoding)
    except InvalidURL:
        return None


def _params() -> list[Any]:
    params = []
    # Sorted: some of w3lib's tables are built by iterating over a set.
    applicable = sorted(filter(_applies, vectors()), key=lambda v: (v[0], repr(v[2]), v[1]))
    for function, url, keywords, output in applicable:
        encoding = keywords.get("encoding")
        reason = DISAGREEMENTS.get((function, url, encoding))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        ident = f"{function}-{encoding}-{url[:60]!r}"
        params.append(pytest.param(function, url, encoding, output, marks=marks, id=ident))
    return params


def test_the_sdist_is_w3lib_2_5_0s() -> None:
    assert hashlib.sha256(SDIST.read_bytes()).hexdigest() == SHA256


def test_vectors_were_found() -> None:
    # The file has a few hundred; a loader that reads nothing must fail.
    assert len(vectors()) > 200
    assert sum(map(_applies, vectors())) > 100


@pytest.mark.parametrize(("function", "url", "encoding", "output"), _params())
def test_same_page_as_w3lib(function: str, url: str, encoding: str | None, output: Any) -> None:
    ours = _normalized(url, encoding)
    if isinstance(output, type):
        assert ours is None, f"w3lib rejects {url!r}; we give {ours!r}"
    else:
        assert ours == _normalized(output)
