"""``python -m bench.faults`` and ``python -m bench.fuzz`` report into sections of their own.

The commands themselves run for minutes to hours and are run by hand; these tests pin what
they write: each rewrites its own section of bench/RESULTS.md and keeps everything else, a
failed fault run is named with its seed, and the property tests' size is today's unless asked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.faults import RunResult, render, totals
from bench.fuzz import read_junit
from bench.report import replace_section, sections, write_report
from tests.fuzz_examples import ENV, examples

REPORT = "# Benchmark results\n\n## Findings\n\nHand-written addendum.\n"


def test_a_section_is_replaced_and_the_rest_of_the_report_kept(tmp_path: Path) -> None:
    report = tmp_path / "RESULTS.md"
    report.write_text(REPORT)
    replace_section(report, "bench.faults", "## Fault runs\n\nfirst\n")
    replace_section(report, "bench.fuzz", "## Fuzzing\n\nonly\n")
    replace_section(report, "bench.faults", "## Fault runs\n\nsecond\n")
    text = report.read_text()
    assert text.startswith(REPORT)
    assert "first" not in text and text.count("## Fault runs") == 1
    assert sections(text) == {
        "bench.faults": "## Fault runs\n\nsecond\n",
        "bench.fuzz": "## Fuzzing\n\nonly\n",
    }


def test_a_full_benchmark_report_keeps_the_sections_of_other_commands(tmp_path: Path) -> None:
    report = tmp_path / "RESULTS.md"
    report.write_text(REPORT)
    replace_section(report, "bench.fuzz", "## Fuzzing\n\n200 examples\n")
    write_report(tmp_path / "no-results", report, {"command": "python -m bench"})
    text = report.read_text()
    assert "Command: `python -m bench`" in text  # rewritten ...
    assert sections(text) == {"bench.fuzz": "## Fuzzing\n\n200 examples\n"}  # ... and kept


def test_failed_fault_runs_are_named_with_their_seeds_and_counted() -> None:
    passed = RunResult(0, 7000, "kill after store", 50.0, rows_due=40, emails_sent=38)
    failed = RunResult(1, 7001, "restart postgres", 190.0, lost=2, duplicated_outside=1)
    failed.failure = "AssertionError: timed out waiting for the engine to finish by itself"
    t = totals([passed, failed])
    assert (t["runs"], t["passed"], t["rows_due"], t["lost"]) == (2, 1, 40, 2)
    assert t["failed_seeds"] == [7001]
    text = render([passed, failed], ["- Command: `python -m bench.faults --runs 2`."])
    assert "Failed runs: run 1 (seed 7001)." in text
    assert "**2 lost**" in text and "**1 outside it**" in text
    assert "| 1 | 7001 |" in text and "**failed**: AssertionError: timed out" in text


def test_the_property_tests_keep_todays_size_unless_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert examples(150) == 150
    monkeypatch.setenv(ENV, "2000")
    assert examples(150) == 2000
    monkeypatch.setenv(ENV, "0")
    with pytest.raises(ValueError, match=ENV):
        examples(150)


def test_the_fuzz_report_says_which_tests_drew_examples(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_property_forms" '
        'name="test_any_link_gets_a_page_and_never_a_server_error" time="12.5"/>'
        '<testcase classname="tests.test_api_schemathesis" '
        'name="test_no_operation_answers_with_a_server_error" time="80.0">'
        "<failure message=\"assert ['GET /x -&gt; 500'] == []\"/></testcase>"
        '<testcase classname="tests.test_property_catalogue" '
        'name="test_an_infinite_rank_is_a_line_error[inf]" time="0.2"/>'
        '<testcase classname="tests.test_api_stateful" '
        'name="test_request_sequences_along_links_keep_to_the_document[sqlite]" time="9.0"/>'
        "</testsuite></testsuites>"
    )
    link, api, fixed, stateful = read_junit(junit, 200)
    assert (link.examples, link.outcome, link.seconds) == ("200", "passed", 12.5)
    assert (api.examples, api.outcome) == ("200 per operation and mode", "failed")
    assert "500" in api.message
    assert fixed.examples == "–"  # a pinned case, not a property
    assert stateful.examples == "200 sequences"  # a state machine draws, though it has no @given
    # A run split over the operations names its part: only all parts make the whole test.
    parted = read_junit(junit, 10000, part="3/8")[1]
    assert parted.test.endswith("server_error (operations, part 3 of 8)")
    assert read_junit(junit, 10000, part="3/8")[0].test == link.test  # other files stay whole


def test_a_part_of_the_operations_is_every_nth_from_the_kth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fuzz_examples import PART_ENV, part_of

    monkeypatch.delenv(PART_ENV, raising=False)
    assert part_of("abcdefg") == ("", list("abcdefg"))
    monkeypatch.setenv(PART_ENV, "2/3")
    assert part_of("abcdefg") == (" (part 2 of 3)", ["b", "e"])
    parts = []
    for k in (1, 2, 3):
        monkeypatch.setenv(PART_ENV, f"{k}/3")
        parts += part_of("abcdefg")[1]
    assert sorted(parts) == list("abcdefg")
    monkeypatch.setenv(PART_ENV, "4/3")
    with pytest.raises(ValueError, match=PART_ENV):
        part_of("abc")


def test_fault_runs_go_on_from_the_saved_results_of_the_same_seed(tmp_path: Path) -> None:
    from dataclasses import asdict

    from bench.faults import _previous

    saved = tmp_path / "faults.json"
    assert _previous(saved, 7000) == ([], [])
    runs = [RunResult(i, 7000 + i, "restart redis", 20.0, rows_due=37) for i in range(3)]
    sitting = {"command": "python -m bench.faults --runs 3", "first": 0, "last": 2}
    saved.write_text(json.dumps({"runs": [asdict(r) for r in runs], "sittings": [sitting]}))
    again, sittings = _previous(saved, 7000)
    assert again == runs and sittings == [sitting]
    with pytest.raises(SystemExit, match="seed base 7000, not 9000"):
        _previous(saved, 9000)


def test_a_long_fault_report_sums_per_fault_and_lists_only_failed_runs() -> None:
    results = [
        RunResult(i, 7000 + i, ("restart redis", "kill after store")[i % 2], 20.0, rows_due=37)
        for i in range(100)
    ]
    results[41].failure = "AssertionError: 1 reminder lost"
    results[41].lost = 1
    text = render(results, [])
    assert "| restart redis | 50 | 50 | 1850 | 0 | 0 | 0 | 20 |" in text
    assert "| kill after store | 50 | 49 | 1850 | 1 | 0 | 0 | 20 |" in text
    assert "below, the failed runs and the runs run again only (1)" in text
    assert "| 41 | 7041 |" in text and "| 40 | 7040 |" not in text


def test_a_run_run_again_keeps_its_first_verdict_in_the_report() -> None:
    results = [RunResult(i, 7000 + i, "smtp 5xx", 20.0, rows_due=37) for i in range(80)]
    results[6].earlier = ["AssertionError: the only planned kill found no worker"]
    results[7].preempted = ["24ms after copy #19"]
    results[8].kill_points = ["at random at 3.0s (while sending)"]
    t = totals(results)
    assert (t["run_again"], t["kills_struck"], t["kills_preempted"]) == ([6], 1, 1)
    text = render(results, [])
    assert (
        "Run 6 (seed 7006) was run again (`--again`) after: AssertionError: the only planned "
        "kill found no worker; now passed." in text
    )
    assert "| 6 | 7006 |" in text and "| 7 | 7007 |" not in text
    assert "1 planned kills struck a worker, 1 found none alive" in text


def test_the_shared_machine_check_sees_other_work_and_not_its_own(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from bench.__main__ import other_busy_processes

    sleep = "import time; time.sleep(30)"
    own = subprocess.Popen([sys.executable, "-c", sleep, "zielflow-own-child"])
    # The shell exits at once: its child belongs to no one here, like a stranger's test run.
    subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -c "{sleep}" zielflow-stranger >/dev/null 2>&1 &'],
        check=True,
    )
    try:
        for _ in range(50):
            seen = " ".join(other_busy_processes())
            if "zielflow-stranger" in seen:
                break
            time.sleep(0.1)
        assert "zielflow-stranger" in seen
        assert "zielflow-own-child" not in seen
    finally:
        own.kill()
        subprocess.run(["pkill", "-f", "zielflow-stranger"], check=False)


def test_fuzz_runs_add_up_and_the_largest_passed_size_is_shown(tmp_path: Path) -> None:
    from bench.fuzz import FuzzRun, TestResult, load_runs, render, save_runs

    saved = tmp_path / "fuzz.json"
    link = "tests/test_property_forms.py::test_any_link_gets_a_page_and_never_a_server_error"
    api = "tests/test_api_schemathesis.py::test_no_operation_answers_with_a_server_error"
    # A file written before runs were kept is read as one run.
    saved.write_text(
        json.dumps(
            {
                "command": "python -m bench.fuzz --examples 200",
                "examples": 200,
                "exit": 0,
                "tests": [
                    {"test": link, "examples": "200", "outcome": "passed", "seconds": 1.5},
                    {"test": api, "examples": "200 per operation and mode",
                     "outcome": "passed", "seconds": 600.0},
                ],
                "counted": ["random form links [sqlite]: 200 inputs"],
            }
        )
    )  # fmt: skip
    runs = load_runs(saved)
    assert [(r.examples, r.facts) for r in runs] == [(200, [])]
    bigger = FuzzRun(
        "python -m bench.fuzz --examples 10000 -- -k 'not schemathesis'",
        10000,
        1,
        ["- Command: `python -m bench.fuzz --examples 10000`, finished 27.11.2026 22:00 UTC."],
        [TestResult(link, "10000", "failed", 80.0, "assert 500 != 500\nwhile | drawing")],
        [],
    )
    save_runs(saved, [*runs, bigger])
    again = load_runs(saved)
    assert again == [*runs, bigger]
    text = render(again)
    # The failed larger run does not count as passed; the smaller pass stands, with the failure.
    assert f"| `{link}` | 200 | run 1 | **1** |" in text
    assert f"| `{api}` | 200 per operation and mode | run 1 | 0 |" in text
    assert text.index("### Run 2: 10000") < text.index("### Run 1: 200")
    assert "| **failed** assert 500 != 500 while / drawing | 80.0 |" in text
    save_runs(
        saved, [*again, FuzzRun("c", 10000, 0, [], [TestResult(link, "10000", "passed", 90.0)], [])]
    )
    assert f"| `{link}` | 10000 | run 3 | **1** |" in render(load_runs(saved))


def _figures(path: Path, name: str, figures: list[dict[str, object]]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.json").write_text(json.dumps({"figures": figures}))


def _figure(name: str, median: float, ratio: float | None) -> dict[str, object]:
    return {"name": name, "unit": "1/s", "median": median, "runs": [median], "ratio": ratio}


def test_a_full_report_sets_each_figure_beside_the_same_figure_of_the_run_before(
    tmp_path: Path,
) -> None:
    now, before = tmp_path / "results", tmp_path / "before"
    renamed = "emails/s sqlite, one connection, send_pending (render, claim, send, mark)"
    _figures(now, "email", [_figure(renamed, 400.0, 0.61), _figure("new figure", 5.0, 2.0)])
    _figures(now, "simulation", [_figure("days per second", 900.0, None)])
    _figures(
        before,
        "email",
        [_figure("emails/s sqlite, send_pending (render, claim, send, mark)", 178.0, 0.365)],
    )
    _figures(before, "simulation", [_figure("days per second", 700.0, None)])
    (before / "run.json").write_text(json.dumps({"started_at": "2026-11-22T00:53:34+00:00"}))
    report = tmp_path / "RESULTS.md"

    write_report(now, report, {"command": "python -m bench"}, before_dir=before)
    rows = {
        line.split(" | ")[1]: line
        for line in report.read_text().splitlines()
        if line.startswith("| email") or line.startswith("| simulation")
    }
    assert "run started 2026-11-22T00:53:34+00:00" in report.read_text()
    assert rows[renamed].endswith("| 0.61× | 0.365× | – |")
    assert rows["new figure"].endswith("| 2× | – | – |")
    assert rows["days per second"].endswith("| – | 700 | – |")

    write_report(
        now, report, {"command": "python -m bench --quick", "quick": True}, before_dir=before
    )
    assert "0.365×" not in report.read_text() and "before |" not in report.read_text()
