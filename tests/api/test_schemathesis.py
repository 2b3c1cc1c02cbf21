"""Property-based run of the API's own OpenAPI: no 5xx, every response conforms to the schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


def test_openapi_conformance(served) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {served.keys['all']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            response = case.call(base_url=served.url, headers=headers, allow_redirects=False)
            case.validate_response(response, checks=CHECKS)
            calls += 1

        check()
    assert calls >= len(operations) * 5
