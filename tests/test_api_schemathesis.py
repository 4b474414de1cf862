"""Property-based run of the whole OpenAPI document, in-process, authenticated: no 5xx anywhere.

Schemathesis generates valid and invalid requests for every operation of /openapi.json and
sends them to the ASGI app with an admin's bearer token (an admin may call every route).
Its pytest plugin does not load under our pytest, so the operations are walked here.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.app import create_app
from tests.dashboard_seed import bearer, seed
from tests.fuzz_examples import examples
from workflow.accounts import Role
from workflow.runtime import Runtime

EXAMPLES_PER_OPERATION = examples(20)


def test_no_operation_answers_with_a_server_error(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    headers = bearer(s, Role.ADMIN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    server_errors: list[str] = []
    statuses: set[int] = set()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                statuses.add(response.status_code)
                if response.status_code >= 500:
                    server_errors.append(
                        f"{case.method} {case.formatted_path} {case.query} {case.body!r}"
                        f" -> {response.status_code} {response.text[:200]}"
                    )

            try:
                run()
            except Unsatisfiable:
                # An operation without parameters or body has no invalid request to make.
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert server_errors == []
    # The run reached the routes' logic, not only their validation.
    assert {200, 201, 404, 422} <= statuses
