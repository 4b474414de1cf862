"""Property-based run of the whole OpenAPI document, in-process, authenticated: no 5xx anywhere.

Schemathesis generates valid and invalid requests for every operation of /openapi.json and
sends them to the ASGI app with an admin's bearer token (an admin may call every route).
Its pytest plugin does not load under our pytest, so the operations are walked here. The run
counts what it sent and how it was answered, and CI's output shows it ("N inputs, 0 server
errors"). A large run can be split into parts that take every n-th operation
(``ZIELFLOW_FUZZ_PART=k/n``, see ``tests/fuzz_examples.py``), to be run in separate sittings.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.app import create_app
from tests.dashboard_seed import bearer, seed
from tests.fault_report import append
from tests.fuzz_examples import REQUEST_TIMEOUT_SECONDS, examples, part_of
from workflow.accounts import Role
from workflow.runtime import Runtime

EXAMPLES_PER_OPERATION = examples(20)


def test_no_operation_answers_with_a_server_error(
    rt_sqlite: Runtime, pytestconfig: pytest.Config
) -> None:
    s = seed(rt_sqlite)
    headers = bearer(s, Role.ADMIN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    every = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(every) > 40
    part, operations = part_of(sorted(every, key=lambda operation: operation.label))
    server_errors: list[str] = []
    statuses: Counter[int] = Counter()
    slowest = [0.0]  # seconds

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
                started = time.perf_counter()
                response = case.call(headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
                slowest[0] = max(slowest[0], time.perf_counter() - started)
                statuses[response.status_code] += 1
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

    tried = sum(statuses.values())
    by_status = ", ".join(f"{n}x {code}" for code, n in sorted(statuses.items()))
    append(
        pytestconfig,
        "property tests: inputs tried",
        f"schemathesis{part}: {tried} inputs, {len(server_errors)} server errors"
        f" ({len(operations)} operations; {by_status}; slowest request {slowest[0]:.1f} s)",
        file="property-inputs.txt",
    )
    assert server_errors == []
    assert tried > min(10, EXAMPLES_PER_OPERATION) * len(operations)
    if len(operations) == len(every):
        # The run reached the routes' logic, not only their validation.
        assert {200, 201, 404, 422} <= set(statuses)
