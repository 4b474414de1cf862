"""``python -m bench.fuzz --examples N``: the property tests with N examples each, and their outcome.

Runs pytest on the property test files with ``ZIELFLOW_FUZZ_EXAMPLES=N`` (see
``tests/fuzz_examples.py``; for the two schemathesis files N is per API operation and
generation mode, as their size always was), reads pytest's JUnit XML and writes one line per
test (examples, passed or failed, seconds) into the section ``bench.fuzz`` of
bench/RESULTS.md, with the inputs the tests counted themselves. Exit status is pytest's.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.__main__ import other_busy_processes
from bench.common import BENCH_DIR, PG_ADMIN_URL, REPO, RESULTS_DIR, load_average, machine_info
from bench.faults import run_facts
from bench.report import replace_section
from tests.fuzz_examples import ENV

SECTION = "bench.fuzz"
FILES = (
    "tests/test_property_catalogue.py",
    "tests/test_property_forms.py",
    "tests/test_property_schemathesis.py",
    "tests/test_api_schemathesis.py",
)
PER_OPERATION = ("schemathesis",)  # files whose size counts per operation and mode


@dataclass
class TestResult:
    test: str  # file::name[param]
    examples: str  # "200", "200 per operation and mode", or "–" for a fixed case
    outcome: str  # passed, failed, error, skipped
    seconds: float
    message: str = ""


def property_tests(path: Path) -> set[str]:
    """Names of the test functions in ``path`` that draw examples (contain a ``@given``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and getattr(inner.func, "id", "") == "given":
                    found.add(node.name)
                    break
    return found


def read_junit(junit: Path, examples: int, repo: Path = REPO) -> list[TestResult]:
    drawing = {f: property_tests(repo / f) for f in FILES}
    results = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        file = case.get("classname", "").replace(".", "/") + ".py"
        name = case.get("name", "")
        outcome, message = "passed", ""
        for child, word in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            found = case.find(child)
            if found is not None:
                outcome, message = word, (found.get("message") or "")[:300]
                break
        if name.split("[")[0] not in drawing.get(file, set()):
            size = "–"
        elif any(word in file for word in PER_OPERATION):
            size = f"{examples} per operation and mode"
        else:
            size = str(examples)
        results.append(
            TestResult(f"{file}::{name}", size, outcome, float(case.get("time", 0)), message)
        )
    return results


def render(
    examples: int, results: list[TestResult], counted: list[str], facts: list[str], code: int
) -> str:
    failed = [r for r in results if r.outcome in {"failed", "error"}]
    drawing = [r for r in results if r.examples != "–"]
    lines = [
        f"## Fuzzing (`python -m bench.fuzz`): {examples} examples per property test",
        "",
        f"The property test files run by pytest with `{ENV}={examples}` (default sizes in CI: "
        "150 per form or catalogue property, 60 for XLSX, 8 and 20 per API operation and "
        "mode). This section is rewritten by each run of the command.",
        "",
        *facts,
        "",
        f"Totals: {len(results)} tests ({len(drawing)} drawing examples), "
        f"{sum(r.outcome == 'passed' for r in results)} passed, {len(failed)} failed, "
        f"{sum(r.outcome == 'skipped' for r in results)} skipped; pytest exit status {code}; "
        f"{sum(r.seconds for r in results):.0f} s in the tests.",
        "",
        "| test | examples | result | s |",
        "| --- | --- | --- | ---: |",
    ]
    for r in results:
        shown = r.outcome if r.outcome == "passed" else f"**{r.outcome}** {r.message}"
        lines.append(f"| `{r.test}` | {r.examples} | {shown.replace('|', '/')} | {r.seconds:.1f} |")
    if counted:
        lines += ["", "Inputs the tests counted themselves:", ""]
        lines += [f"- {line}" for line in counted]
    return "\n".join(lines) + "\n"


def run_pytest(examples: int, workdir: Path, extra: list[str]) -> int:
    env = {**os.environ, ENV: str(examples), "ZIELFLOW_TEST_OUTPUT": str(workdir / "output")}
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        f"--junitxml={workdir / 'junit.xml'}", *FILES, *extra,
    ]  # fmt: skip
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, required=True, help="examples per property")
    parser.add_argument("--report", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--note", action="append", default=[], help="a sentence about this run for the report"
    )
    parser.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    command = shlex.join(["python", "-m", "bench.fuzz", *(sys.argv[1:] if argv is None else argv)])
    load_before, others_before = load_average(), other_busy_processes()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zielflow-bench-fuzz-") as tmp:
        work = Path(tmp)
        code = run_pytest(args.examples, work, args.pytest_args)
        junit = work / "junit.xml"
        results = read_junit(junit, args.examples) if junit.exists() else []
        inputs = work / "output" / "property-inputs.txt"
        counted = inputs.read_text(encoding="utf-8").splitlines()[1:] if inputs.exists() else []
    facts = run_facts(command, load_before, others_before, machine_info(PG_ADMIN_URL))
    facts.append(f"- Took {(time.monotonic() - started) / 60:.1f} min in all.")
    facts += [f"- {n}" for n in args.note]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "fuzz.json").write_text(
        json.dumps(
            {
                "command": command,
                "examples": args.examples,
                "exit": code,
                "tests": [asdict(r) for r in results],
                "counted": counted,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    text = render(args.examples, results, counted, facts, code)
    replace_section(args.report, SECTION, text)
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
