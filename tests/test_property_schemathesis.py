"""Counts what a schemathesis run of the JSON API tries, and shows it: "N inputs, 0 server errors".

``tests/test_api_schemathesis.py`` is the thorough run; this smaller one (fewer examples per
operation) exists so that CI's output says how many requests were made and how they ended.
"""

from __future__ import annotations

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
from tests.fuzz_examples import examples
from workflow.accounts import Role
from workflow.runtime import Runtime

EXAMPLES_PER_OPERATION = examples(8)


def test_schemathesis_counts_its_inputs_and_finds_no_server_error(
    rt_sqlite: Runtime, pytestconfig: pytest.Config
) -> None:
    headers = bearer(seed(rt_sqlite), Role.ADMIN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []

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
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{case.method} {case.formatted_path} -> {response.text[:200]}"
                    )

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing invalid to send

    tried = sum(statuses.values())
    by_status = ", ".join(f"{n}x {code}" for code, n in sorted(statuses.items()))
    append(
        pytestconfig,
        "property tests: inputs tried",
        f"schemathesis: {tried} inputs, {len(server_errors)} server errors"
        f" ({len(operations)} operations; {by_status})",
        file="property-inputs.txt",
    )
    assert server_errors == []
    assert tried > 10 * len(operations) and {200, 201, 404, 422} <= set(statuses)
