"""``python -m bench.faults --runs N [--seed S] [--resume] [--json]``: fault runs, as many as wanted.

Each run is ``tests.fault_scenario.run_scenario`` (the body of the pytest fault suite: the same
seeded plans, injectors and judge), with servers this command starts itself: a private
PostgreSQL cluster (``initdb``; the shared server is never restarted), and per run a Redis and
the faulty SMTP sink. A failed run is recorded with its seed and the next one starts. The
per-run table and the totals replace the section ``bench.faults`` of bench/RESULTS.md; the
JSON goes to bench/results/faults.json (and to stdout with ``--json``).

A thousand runs take hours, so the JSON is rewritten after every run and ``--resume`` goes on
from the runs it holds (same seed base) up to ``--runs`` in all; each sitting's command, times
and load are kept in it. ``kill -USR1`` on the command ends it after the current run, with the
report written; a run cut short otherwise is simply run again by the next ``--resume``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.__main__ import other_busy_processes
from bench.common import BENCH_DIR, RESULTS_DIR, load_average, machine_info
from bench.report import SHARED_LOAD, replace_section
from tests.fault_plan import PRIMARY
from tests.fault_scenario import (
    Outcome,
    assert_recovered,
    faulty_sink,
    private_cluster,
    redis,
    run_scenario,
)
from tests.fault_servers import PrivateCluster

SECTION = "bench.faults"
DEFAULT_SEED = 7000  # the pytest suite's ZIELFLOW_FAULT_SEED default: run i is the same run


@dataclass
class RunResult:
    index: int
    seed: int
    primary: str
    seconds: float
    injected: list[str] = field(default_factory=list)
    kill_points: list[str] = field(default_factory=list)
    rows_due: int = 0
    emails_sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated_in_window: int = 0
    duplicated_outside: int = 0
    dead: int = 0
    dead_letters: int = 0
    answers: int = 0
    answers_kept: int = 0
    failure: str = ""  # empty: the run passed the suite's assertions
    preempted: list[str] = field(default_factory=list)  # planned kills that found no worker
    # Verdicts of earlier attempts of this run, kept when ``--again`` ran it anew.
    earlier: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, outcome: Outcome, failure: str) -> RunResult:
        v = outcome.verdict
        return cls(
            index=outcome.index,
            seed=outcome.plan.seed,
            primary=outcome.plan.primary,
            seconds=round(outcome.seconds, 1),
            injected=outcome.injected,
            kill_points=outcome.log.kill_points,
            rows_due=v.rows_due,
            emails_sent=v.emails_sent,
            delivered=v.delivered,
            lost=outcome.lost(),
            duplicated_in_window=v.duplicated,
            duplicated_outside=outcome.duplicates_outside(),
            dead=v.dead,
            dead_letters=v.dead_letters,
            answers=v.answers,
            answers_kept=v.answers_kept,
            failure=failure,
            preempted=outcome.log.preempted,
        )


def _first_lines(text: str, n: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[:n])[:400]


def one_run(index: int, seed: int, cluster: PrivateCluster, workdir: Path) -> RunResult:
    """One run with its own Redis and sink; never raises, a failure is in the result."""
    began = time.monotonic()
    workdir.mkdir(parents=True)
    try:
        with redis(workdir) as redis_server, faulty_sink() as (sink_port, sink):
            outcome = run_scenario(index, seed, redis_server, sink_port, sink, cluster, workdir)
    except Exception as exc:  # the engine did not settle, a server did not start …
        cluster.ensure_up()  # for the next run
        primary = PRIMARY[index % len(PRIMARY)]
        failure = f"{type(exc).__name__}: {_first_lines(str(exc))}"
        return RunResult(index, seed, primary, round(time.monotonic() - began, 1), failure=failure)
    try:
        assert_recovered(outcome)
        failure = ""
    except AssertionError as exc:
        failure = f"AssertionError: {_first_lines(str(exc))}"
    shutil.rmtree(workdir, ignore_errors=True)  # kept only for a failed run's logs
    return RunResult.of(outcome, failure)


def totals(results: list[RunResult]) -> dict[str, Any]:
    def total(name: str) -> int:
        return sum(int(getattr(r, name)) for r in results)

    return {
        "runs": len(results),
        "passed": sum(not r.failure for r in results),
        "rows_due": total("rows_due"),
        "emails_sent": total("emails_sent"),
        "delivered": total("delivered"),
        "lost": total("lost"),
        "duplicated_in_window": total("duplicated_in_window"),
        "duplicated_outside": total("duplicated_outside"),
        "dead": total("dead"),
        "dead_letters": total("dead_letters"),
        "answers": total("answers"),
        "answers_kept": total("answers_kept"),
        "failed_seeds": [r.seed for r in results if r.failure],
        "kills_struck": sum(len(r.kill_points) for r in results),
        "kills_preempted": sum(len(r.preempted) for r in results),
        "run_again": [r.index for r in results if r.earlier],
    }


def run_facts(
    command: str, load_before: list[float], others_before: list[str], machine: dict[str, Any]
) -> list[str]:
    """Command, date, machine and how busy it was, as Markdown list items."""
    others = sorted(set(others_before) | set(other_busy_processes()))
    shared = load_before[0] > SHARED_LOAD or bool(others)
    facts = [
        f"- Command: `{command}`, finished {datetime.now(UTC):%d.%m.%Y %H:%M} UTC.",
        f"- Machine: {machine.get('cores')} cores, {machine.get('memory_gib')} GiB memory, "
        f"{machine.get('cpu_model')}; {machine.get('os')}, Python {machine.get('python')}, "
        f"PostgreSQL {machine.get('postgresql')}.",
        f"- Load average (1, 5, 15 min) before {load_before}, after {load_average()}."
        + (
            f" **Shared machine**: other test runs used the same "
            f"{machine.get('cores')} cores, so the seconds are noisy."
            if shared
            else " The machine was otherwise idle."
        ),
    ]
    facts += [f"  - seen running: `{p}`" for p in others[:3]]
    return facts


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "–"


FULL_TABLE_UP_TO = 60  # above it the report lists failed runs only; the JSON holds every run


def by_primary(results: list[RunResult]) -> list[str]:
    """One table row per primary fault: how often it was drawn and what it cost."""
    runs: Counter[str] = Counter(r.primary for r in results)
    lines = [
        "| primary fault | runs | passed | rows due | lost | dup. in window | dup. outside "
        "| mean s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for primary in sorted(runs):
        mine = [r for r in results if r.primary == primary]
        lines.append(
            f"| {_cell(primary)} | {len(mine)} | {sum(not r.failure for r in mine)} "
            f"| {sum(r.rows_due for r in mine)} | {sum(r.lost for r in mine)} "
            f"| {sum(r.duplicated_in_window for r in mine)} "
            f"| {sum(r.duplicated_outside for r in mine)} "
            f"| {sum(r.seconds for r in mine) / len(mine):.0f} |"
        )
    return lines


def render(results: list[RunResult], facts: list[str]) -> str:
    t = totals(results)
    shown = (
        results
        if len(results) <= FULL_TABLE_UP_TO
        else [r for r in results if r.failure or r.earlier]
    )
    lines = [
        f"## Fault runs (`python -m bench.faults`): {t['runs']} runs",
        "",
        "The scenario of `tests/test_fault_suite.py` (via `tests/fault_scenario.py`), same plans, "
        "injectors and judge, run outside pytest. This section is rewritten by each run of the "
        "command.",
        "",
        *facts,
        "",
        f"Totals: {t['runs']} runs, {t['passed']} passed; {t['rows_due']} outbox rows due as "
        f"email, {t['emails_sent']} emails sent (DB), {t['delivered']} delivered, "
        f"**{t['lost']} lost**; duplicates: {t['duplicated_in_window']} inside the documented "
        f"window, **{t['duplicated_outside']} outside it**; {t['dead']} dead after a 5xx with "
        f"{t['dead_letters']} notices; {t['answers_kept']}/{t['answers']} answers kept; "
        f"{t['kills_struck']} planned kills struck a worker, {t['kills_preempted']} found none "
        "alive (its work was done).",
        "Failed runs: "
        + (", ".join(f"run {r.index} (seed {r.seed})" for r in results if r.failure) or "none")
        + ".",
        *(
            f"Run {r.index} (seed {r.seed}) was run again (`--again`) after: "
            + "; ".join(_cell(e) for e in r.earlier)
            + f"; now {'**failed**' if r.failure else 'passed'}."
            for r in results
            if r.earlier
        ),
        "",
        *by_primary(results),
        "",
        *(
            []
            if shown is results
            else [
                f"Every run is in bench/results/faults.json; below, the failed runs and the "
                f"runs run again only ({len(shown)}).",
                "",
            ]
        ),
        "| run | seed | faults injected | kill points | rows due | sent | delivered | lost "
        "| dup. in window | dup. outside | dead / notices | answers kept | s | result |",
        "| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    for r in shown:
        result = "passed" if not r.failure else f"**failed**: {_cell(r.failure)}"
        lines.append(
            f"| {r.index} | {r.seed} | {_cell('; '.join(r.injected))} "
            f"| {_cell('; '.join(r.kill_points))} | {r.rows_due} | {r.emails_sent} "
            f"| {r.delivered} | {r.lost} | {r.duplicated_in_window} | {r.duplicated_outside} "
            f"| {r.dead} / {r.dead_letters} | {r.answers_kept}/{r.answers} | {r.seconds:.0f} "
            f"| {result} |"
        )
    return "\n".join(lines) + "\n"


def _sitting_line(sitting: dict[str, Any]) -> str:
    again = sitting.get("again", [])
    runs = (
        [f"runs {sitting['first']}–{sitting['last']}"]
        if sitting["last"] >= sitting["first"]
        else []
    ) + ([f"run again {', '.join(map(str, again))}"] if again else [])
    return (
        f"- {' and '.join(runs).capitalize()}: `{sitting['command']}`, "
        f"{sitting['began']} to {sitting['ended']} UTC, load average (1, 5, 15 min) before "
        f"{sitting['load_before']}, after {sitting['load_after']}"
        + (
            "; **shared machine**, other processes used the same cores"
            if sitting["shared"]
            else "; the machine was otherwise idle"
        )
        + "."
    )


def _say(result: RunResult) -> None:
    print(
        f"[faults] run {result.index} seed {result.seed} ({result.primary}): "
        f"{result.failure or 'passed'} in {result.seconds:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def _previous(path: Path, seed: int) -> tuple[list[RunResult], list[dict[str, Any]]]:
    """The runs and sittings of an earlier ``--runs`` with the same seed base, to go on from."""
    if not path.exists():
        return [], []
    data = json.loads(path.read_text())
    runs = [RunResult(**r) for r in data.get("runs", [])]
    if runs and runs[0].seed - runs[0].index != seed:
        raise SystemExit(
            f"bench.faults: {path} holds runs of seed base {runs[0].seed - runs[0].index}, "
            f"not {seed}; --resume needs the same --seed"
        )
    return runs, list(data.get("sittings", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--runs", type=int, required=True, help="how many seeded runs in all")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="run i uses seed S + i (default 7000)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in the results file and go on from there",
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--report", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--note", action="append", default=[], help="a sentence about this run for the report"
    )
    parser.add_argument(
        "--again",
        type=int,
        nargs="+",
        default=[],
        metavar="RUN",
        help="with --resume: run these runs anew (same seeds), e.g. after fixing what failed; "
        "the earlier verdict stays in the report",
    )
    args = parser.parse_args(argv)
    if args.again and not args.resume:
        parser.error("--again needs --resume")
    if shutil.which("redis-server") is None:
        print("bench.faults: redis-server is not installed", file=sys.stderr)
        return 2
    command = shlex.join(
        ["python", "-m", "bench.faults", *(sys.argv[1:] if argv is None else argv)]
    )
    json_path = args.results_dir / "faults.json"
    results, sittings = _previous(json_path, args.seed) if args.resume else ([], [])
    notes = list(args.note)
    if args.resume and json_path.exists():
        notes = [n for n in json.loads(json_path.read_text()).get("notes", []) if n not in notes]
        notes += args.note
    stop = {"asked": False}
    signal.signal(signal.SIGUSR1, lambda *_: stop.update(asked=True))
    load_before, others_before = load_average(), other_busy_processes()
    unknown = sorted(set(args.again) - {r.index for r in results})
    if unknown:
        parser.error(f"--again: no such runs in the results file: {unknown}")
    sitting: dict[str, Any] = {
        "command": command,
        "first": len(results),
        "last": len(results) - 1,
        "began": f"{datetime.now(UTC):%d.%m.%Y %H:%M}",
        "load_before": load_before,
    }
    machine: dict[str, Any] = {}

    def save() -> dict[str, Any]:
        others = sorted(set(others_before) | set(other_busy_processes()))
        sitting.update(
            ended=f"{datetime.now(UTC):%d.%m.%Y %H:%M}",
            load_after=load_average(),
            shared=load_before[0] > SHARED_LOAD or bool(others),
            seen_running=others[:3],
        )
        data = {
            "command": command,
            "machine": machine,
            "notes": notes,
            "sittings": [*sittings, sitting],
            "totals": totals(results),
            "runs": [asdict(r) for r in results],
        }
        args.results_dir.mkdir(parents=True, exist_ok=True)
        partial = json_path.with_suffix(".json.part")
        partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        partial.replace(json_path)  # a kill between runs never leaves half a file
        return data

    with (
        tempfile.TemporaryDirectory(prefix="zielflow-bench-faults-") as tmp,
        private_cluster() as cluster,
    ):
        if cluster is None:
            print(
                "bench.faults: PostgreSQL server binaries (initdb, pg_ctl) missing", file=sys.stderr
            )
            return 2
        machine.update(machine_info(cluster.url("postgres")))
        machine["postgresql"] = f"{machine['postgresql']} (a private cluster of the command's own)"
        for index in sorted(set(args.again)):
            if stop["asked"]:
                break
            result = one_run(index, args.seed + index, cluster, Path(tmp) / f"again-{index}")
            before = results[index]
            result.earlier = [*before.earlier, before.failure or "passed"]
            results[index] = result
            sitting.setdefault("again", []).append(index)
            save()
            _say(result)
        for index in range(len(results), args.runs):
            if stop["asked"]:
                break
            result = one_run(index, args.seed + index, cluster, Path(tmp) / f"run-{index}")
            results.append(result)
            sitting["last"] = index
            save()
            _say(result)
    data = save()
    facts = [
        f"- Machine: {machine.get('cores')} cores, {machine.get('memory_gib')} GiB memory, "
        f"{machine.get('cpu_model')}; {machine.get('os')}, Python {machine.get('python')}, "
        f"PostgreSQL {machine.get('postgresql')}.",
        *(_sitting_line(s) for s in data["sittings"] if s["last"] >= s["first"] or s.get("again")),
        *(f"- {n}" for n in notes),
    ]
    replace_section(args.report, SECTION, render(results, facts))
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else render(results, facts))
    return 1 if any(r.failure for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
