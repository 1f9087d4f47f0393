"""Schemathesis against the served OpenAPI document: no generated request,
valid or not, makes the explorer answer 500 (or anything but a documented
status)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .conftest import Explorer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def schema(explorer: Explorer) -> Any:
    return schemathesis.openapi.from_url(f"{explorer.url}/api/v1/openapi.json")


def test_openapi_document_lists_every_endpoint(explorer: Explorer) -> None:
    document = explorer.get("/api/v1/openapi.json")
    paths = set(document["paths"])
    assert {f"/api/v1/{name}" for name in (
        "overview", "backlinks", "referring-domains", "anchors", "top-pages",
        "broken-backlinks", "history", "intersect")} <= paths  # fmt: skip
    assert not {p for p in paths if not p.startswith("/api/v1/")}


def test_no_server_error(schema: Any, explorer: Explorer) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def check(case: Any) -> None:
            response = case.call(base_url=explorer.url)
            case.validate_response(response, checks=[not_a_server_error])
            assert response.status_code in (200, 400), (case.path, response.text)

        check()
