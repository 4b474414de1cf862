"""``python -m bench.fuzz --examples N``: the property tests with N examples each, and their outcome.

Runs pytest on the property test files with ``ZIELFLOW_FUZZ_EXAMPLES=N`` (see
``tests/fuzz_examples.py``; for the two schemathesis files N is per API operation and
generation mode, as their size always was, and ``--part k/n`` runs every n-th operation
from the k-th on, recorded as a test of its own; for the stateful run N is the number of request
sequences along the document's links), reads pytest's JUnit XML and adds the run (one
line per test: examples, passed or failed, seconds; the inputs the tests counted themselves)
to bench/results/fuzz.json. The section ``bench.fuzz`` of bench/RESULTS.md shows every run
kept there and, per property test, the largest size that passed, so a long run of a few tests
(``-- -k …``) adds to the record instead of replacing it. Exit status is pytest's.
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
from tests.fuzz_examples import ENV, PART_ENV

SECTION = "bench.fuzz"
FILES = (
    "tests/test_property_catalogue.py",
    "tests/test_property_forms.py",
    "tests/test_api_schemathesis.py",
    "tests/test_api_stateful.py",
)
PER_OPERATION = ("schemathesis",)  # files whose size counts per operation and mode
SEQUENCES = ("stateful",)  # files whose size counts request sequences
DRAWING = {"given", "run_state_machine_as_test"}  # calls that make a test draw examples


@dataclass
class TestResult:
    test: str  # file::name[param]
    examples: str  # "200", "200 per operation and mode", or "–" for a fixed case
    outcome: str  # passed, failed, error, skipped
    seconds: float
    message: str = ""


def property_tests(path: Path) -> set[str]:
    """Names of the test functions in ``path`` that draw examples (contain a ``@given`` or run
    a state machine)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and getattr(inner.func, "id", "") in DRAWING:
                    found.add(node.name)
                    break
    return found


def read_junit(junit: Path, examples: int, repo: Path = REPO, part: str = "") -> list[TestResult]:
    """One result per test case; a test that splits its operations into parts (``part``,
    "k/n") is named with its part, since only all parts together make the whole run."""
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
            if part:
                k, _, n = part.partition("/")
                name = f"{name} (operations, part {k} of {n})"
        elif any(word in file for word in SEQUENCES):
            size = f"{examples} sequences"
        else:
            size = str(examples)
        results.append(
            TestResult(f"{file}::{name}", size, outcome, float(case.get("time", 0)), message)
        )
    return results


@dataclass
class FuzzRun:
    """One run of the command; the report keeps every run, so sizes add up across sittings."""

    command: str
    examples: int
    exit: int
    facts: list[str]
    tests: list[TestResult]
    counted: list[str]


def load_runs(saved: Path) -> list[FuzzRun]:
    """The runs recorded in ``saved``; a file from before runs were kept holds one run."""
    if not saved.exists():
        return []
    data = json.loads(saved.read_text(encoding="utf-8"))
    raw = data.get("runs", [{"facts": [], **data}])
    return [
        FuzzRun(
            command=r["command"],
            examples=int(r["examples"]),
            exit=int(r["exit"]),
            facts=list(r.get("facts", [])),
            tests=[TestResult(**t) for t in r["tests"]],
            counted=list(r.get("counted", [])),
        )
        for r in raw
    ]


def save_runs(saved: Path, runs: list[FuzzRun]) -> None:
    saved.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"runs": [asdict(r) for r in runs]}, indent=2, ensure_ascii=False)
    saved.write_text(body + "\n", encoding="utf-8")


def largest_passed(runs: list[FuzzRun]) -> list[tuple[str, str, int, int]]:
    """Per property test (drawing examples): the largest size that passed (as the run wrote
    it), the run (1-based) that showed it, and how many runs of the test failed at any size."""
    best: dict[str, tuple[int, str, int]] = {}
    failures: dict[str, int] = {}
    for number, run in enumerate(runs, start=1):
        for t in run.tests:
            if t.examples == "–":
                continue
            failures.setdefault(t.test, 0)
            if t.outcome in {"failed", "error"}:
                failures[t.test] += 1
            elif t.outcome == "passed" and run.examples >= best.get(t.test, (0, "", 0))[0]:
                best[t.test] = (run.examples, t.examples, number)
    return [
        (test, best[test][1] if test in best else "–", best.get(test, (0, "", 0))[2], failed)
        for test, failed in sorted(failures.items())
    ]


def render_run(number: int, run: FuzzRun) -> str:
    results, code = run.tests, run.exit
    failed = [r for r in results if r.outcome in {"failed", "error"}]
    drawing = [r for r in results if r.examples != "–"]
    lines = [
        f"### Run {number}: {run.examples} examples per property test",
        "",
        *run.facts,
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
        cell = " ".join(shown.replace("|", "/").split())  # one table row, whatever the message
        lines.append(f"| `{r.test}` | {r.examples} | {cell} | {r.seconds:.1f} |")
    if run.counted:
        lines += ["", "Inputs the tests counted themselves:", ""]
        lines += [f"- {line}" for line in run.counted]
    return "\n".join(lines) + "\n"


def render(runs: list[FuzzRun]) -> str:
    lines = [
        "## Fuzzing (`python -m bench.fuzz`)",
        "",
        f"The property test files run by pytest with `{ENV}=N` (default sizes in CI: 150 per "
        "form or catalogue property, 60 for XLSX, 20 per API operation and mode, 60 request "
        "sequences along links on each database). Every "
        "run of the command is kept below, newest first, so that tests run at a large size in "
        "separate sittings are recorded side by side. For the schemathesis test of every operation "
        "N counts per API operation and generation mode (a run split with `--part k/n` is "
        "recorded per part); for the stateful one, request sequences (up to "
        "six requests each, every one from the same seeded database).",
        "",
        "Largest size that passed, per property test:",
        "",
        "| test | examples | shown by | failed runs |",
        "| --- | --- | --- | ---: |",
    ]
    for test, size, number, failures in largest_passed(runs):
        if not (REPO / test.split("::")[0]).exists():
            continue  # a test file since merged into another; its runs stay listed below
        shown = f"run {number}" if number else "–"
        failed = f"**{failures}**" if failures else "0"
        lines.append(f"| `{test}` | {size} | {shown} | {failed} |")
    for number in range(len(runs), 0, -1):
        lines += ["", render_run(number, runs[number - 1]).rstrip("\n")]
    return "\n".join(lines) + "\n"


def run_pytest(examples: int, workdir: Path, extra: list[str], part: str = "") -> int:
    env = {**os.environ, ENV: str(examples), "ZIELFLOW_TEST_OUTPUT": str(workdir / "output")}
    env.pop(PART_ENV, None)
    if part:
        env[PART_ENV] = part
    command = [
        # One process, as the runs listed in the report were: --part splits a run across cores.
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
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
    parser.add_argument(
        "--part", default="", help="k/n: every n-th API operation from the k-th on (schemathesis)"
    )
    parser.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    k, _, n = args.part.partition("/")
    if args.part and not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        parser.error(f"--part must be k/n with 1 <= k <= n, not {args.part!r}")
    command = shlex.join(["python", "-m", "bench.fuzz", *(sys.argv[1:] if argv is None else argv)])
    load_before, others_before = load_average(), other_busy_processes()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zielflow-bench-fuzz-") as tmp:
        work = Path(tmp)
        code = run_pytest(args.examples, work, args.pytest_args, args.part)
        junit = work / "junit.xml"
        results = read_junit(junit, args.examples, part=args.part) if junit.exists() else []
        inputs = work / "output" / "property-inputs.txt"
        counted = inputs.read_text(encoding="utf-8").splitlines()[1:] if inputs.exists() else []
    facts = run_facts(command, load_before, others_before, machine_info(PG_ADMIN_URL))
    facts.append(f"- Took {(time.monotonic() - started) / 60:.1f} min in all.")
    facts += [f"- {n}" for n in args.note]
    saved = args.results_dir / "fuzz.json"
    runs = [*load_runs(saved), FuzzRun(command, args.examples, code, facts, results, counted)]
    save_runs(saved, runs)
    text = render(runs)
    replace_section(args.report, SECTION, text)
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
