"""Stateful property run of the JSON API: request sequences that follow links between operations.

Schemathesis derives links from /openapi.json (an id one answer returns is the path parameter
of the next request: a body created and then read, changed, given members; a contact created
and then named on a measure) and plays sequences of up to six requests, each started from the
same seeded database, as an admin. Every answer is checked against the document (status,
content type, headers, body schema), for server errors, for resources that stay reachable
after they were created and gone after they were deleted, and for an operation that answers
without the token it declares (``ignored_auth``: the call is sent again without it).

Left out on purpose: schemathesis' ``positive_data_acceptance``, which expects every request
that fits the schema to succeed; the API refuses schema-valid requests that break a rule of
the domain (a goal that belongs to no town cannot serve a district goal) with 409 or 422.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi import checks

from api.app import create_app
from tests.dashboard_seed import bearer, seed
from tests.database_snapshot import DatabaseSnapshot
from tests.fault_report import append
from tests.fuzz_examples import REQUEST_TIMEOUT_SECONDS, examples
from workflow.accounts import Role
from workflow.runtime import Runtime

SCENARIOS = examples(60)
STEPS = 6  # schemathesis' own length of a sequence
load_all_checks()
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.use_after_free,
    checks.ensure_resource_availability,
    checks.ignored_auth,
]


@pytest.fixture
def snapshot(rt: Runtime) -> Iterator[tuple[DatabaseSnapshot, dict[str, str]]]:
    headers = bearer(seed(rt), Role.ADMIN)
    saved = DatabaseSnapshot.take(rt)
    yield saved, headers
    saved.drop()


def test_request_sequences_along_links_keep_to_the_document(
    rt: Runtime,
    snapshot: tuple[DatabaseSnapshot, dict[str, str]],
    pytestconfig: pytest.Config,
) -> None:
    saved, headers = snapshot
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    steps: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    slowest = [0.0]  # seconds
    links_followed: set[str] = set()
    links_answered: set[str] = set()  # followed with the link's values, and answered with 2xx

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            saved.restore()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers, "timeout": REQUEST_TIMEOUT_SECONDS}

        def step(self, input: StepInput) -> StepOutput:
            kwargs = self.get_call_kwargs(input.case)
            started = time.perf_counter()
            response = self.call(input.case, **kwargs)
            slowest[0] = max(slowest[0], time.perf_counter() - started)
            self.after_call(response, input.case)
            steps["requests"] += 1
            statuses[response.status_code] += 1
            if input.transition is not None:
                steps["linked"] += 1
                links_followed.add(input.transition.id)
                if input.is_applied:
                    steps["applied"] += 1
                    if 200 <= response.status_code < 300:
                        links_answered.add(input.transition.id)
            input.case.validate_response(
                response,
                checks=CHECKS,
                transport_kwargs=kwargs,
                recorder=getattr(self, "recorder", None),
            )
            return StepOutput(response, input.case)

    run_state_machine_as_test(
        Sequences,
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )

    kind = rt.engine.dialect.name
    by_status = ", ".join(f"{n}x {code}" for code, n in sorted(statuses.items()))
    append(
        pytestconfig,
        "property tests: inputs tried",
        f"schemathesis stateful [{kind}]: {SCENARIOS} sequences, {steps['requests']} requests,"
        f" {steps['linked']} along a link ({steps['applied']} with the link's values),"
        f" {len(links_followed)} links followed, {len(links_answered)} of them answered with 2xx;"
        f" 0 failed checks ({by_status}; slowest request {slowest[0]:.1f} s)",
        file="property-inputs.txt",
    )
    # The sequences went past single requests: links were followed with the values they carry
    # and reached the routes' logic.
    assert steps["applied"] > 0 and len(links_answered) >= 3
    assert {200, 201} <= set(statuses)
