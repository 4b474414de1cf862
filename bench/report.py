"""Writes bench/RESULTS.md from the benchmarks' JSON files; reads results, never measures anything.

``python -m bench.report [--results-dir DIR] [--output PATH]`` rewrites the report from the
JSON files of the last run.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, RESULTS_DIR

ORDER = ("sweep", "transitions", "email", "api", "simulation")
# The run the figures are compared with ("before"): the first full run, kept as it was.
BEFORE_DIR = RESULTS_DIR / "before"
# Figures renamed since that run: today's name -> the name it had then.
_EARLIER_NAMES = {
    f"emails/s {kind}, one connection, send_pending (render, claim, send, mark)": (
        f"emails/s {kind}, send_pending (render, claim, send, mark)"
    )
    for kind in ("postgresql", "sqlite")
} | {
    f"transitions/s {kind}, move_on, one transaction each": (
        f"transitions/s {kind}, apply_event, one transaction each"
    )
    for kind in ("postgresql", "sqlite")
}
# A 1-minute load average above this before the run means someone else was using the cores.
SHARED_LOAD = 0.5


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if value != value:  # NaN
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _ratio(figure: dict[str, Any]) -> str:
    ratio = figure.get("ratio")
    if ratio is None:
        return "–"
    return f"{ratio:.3g}×"


def _verdict(figure: dict[str, Any]) -> str:
    met = figure.get("meets_target")
    if met is None:
        return figure.get("target") or "–"
    return f"{'yes' if met else '**no**'} ({figure['target']})"


def load_results(results_dir: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for name in ORDER:
        path = results_dir / f"{name}.json"
        if path.exists():
            found[name] = json.loads(path.read_text())
    return found


def _earlier(before: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The figures of the earlier run, by name."""
    return {fig["name"]: fig for data in before.values() for fig in data.get("figures", [])}


def _before(figure: dict[str, Any], earlier: dict[str, dict[str, Any]]) -> str:
    old = earlier.get(figure["name"]) or earlier.get(_EARLIER_NAMES.get(figure["name"], ""))
    if old is None:
        return "–"
    if figure.get("ratio") is not None and old.get("ratio") is not None:
        return _ratio(old)
    return _fmt(old.get("median"))


def render(
    results: dict[str, dict[str, Any]],
    run: dict[str, Any] | None = None,
    before: dict[str, dict[str, Any]] | None = None,
    before_run: dict[str, Any] | None = None,
) -> str:
    run = run or {}
    earlier = _earlier(before or {})
    first = next(iter(results.values()), {})
    machine = first.get("machine", {})
    lines = ["# Benchmark results", ""]
    if run.get("command"):
        lines += [
            f"Command: `{run['command']}` (each benchmark also runs alone as "
            "`python -m bench.<name>`; JSON per benchmark in `bench/results/`).",
            "",
        ]
    if run.get("started_at"):
        lines.append(
            f"Run started {run['started_at']} UTC and took {run.get('duration_s', 0) / 60:.1f} min."
        )
    lines += ["", "## Machine", ""]
    libraries = ", ".join(f"{k} {v}" for k, v in machine.get("libraries", {}).items() if v)
    lines += [
        f"- {machine.get('cores')} cores, {machine.get('memory_gib')} GiB memory, "
        f"{machine.get('cpu_model')}",
        f"- {machine.get('os')}, Python {machine.get('python')}, PostgreSQL "
        f"{machine.get('postgresql')}"
        + (f" (at {machine['postgresql_at']})" if machine.get("postgresql_at") else "")
        + f", SQLite {machine.get('sqlite')}",
        f"- {libraries}",
    ]
    before, after = run.get("load_before"), run.get("load_after")
    if before and after:
        shared = before[0] > SHARED_LOAD or bool(run.get("other_processes"))
        lines.append(
            f"- Load average (1, 5, 15 min) before the run {before}, after it {after}. "
            + (
                "**The run shared the machine** with other work (other test "
                "suites): absolute figures are noisy; each ratio compares subject and "
                "reference measured alternately in the same minutes."
                if shared
                else "The machine was otherwise idle."
            )
        )
        shown = [p for p in run.get("other_processes", []) if "pytest" in p or "celery" in p]
        for proc in shown[:5]:
            lines.append(f"  - seen running: `{proc}`")
    lines += [f"- {note}" for note in run.get("notes", [])]
    lines += ["", "## Figures", ""]
    lines += [
        "Median of the runs given in each benchmark's sizes; the reference is measured in the "
        "same run, alternating with the subject. Ratio = subject ÷ reference (for times: how "
        "many times longer; for rates: what fraction of the reference's rate).",
    ]
    if earlier:
        when = (before_run or {}).get("started_at", "an earlier run")
        lines.append(
            f"Column *before*: the same figure's ratio (its median where it has no reference) "
            f"in the full run started {when} UTC, kept in `bench/results/before/`."
        )
    lines += [
        "",
        "| benchmark | figure | median | unit | runs | reference | ref. median | ratio |"
        + (" before |" if earlier else "")
        + " target met? |",
        "| --- | --- | ---: | --- | ---: | --- | ---: | ---: |"
        + (" ---: |" if earlier else "")
        + " --- |",
    ]
    for name, data in results.items():
        for fig in data.get("figures", []):
            lines.append(
                f"| {name} | {fig['name']} | {_fmt(fig['median'])} | {fig['unit']} | "
                f"{len(fig['runs'])} | {fig.get('reference_name') or '–'} | "
                f"{_fmt(fig.get('reference_median'))} | {_ratio(fig)} |"
                + (f" {_before(fig, earlier)} |" if earlier else "")
                + f" {_verdict(fig)} |"
            )
    lines += ["", "## Data sizes and notes", ""]
    for name, data in results.items():
        lines.append(f"### {name}")
        lines.append("")
        lines.append(
            f"- command: `{data.get('command')}`, {data.get('duration_s')} s, "
            f"load before {data.get('load', {}).get('before')}, after "
            f"{data.get('load', {}).get('after')}"
        )
        lines.append(f"- sizes: `{json.dumps(data.get('sizes', {}), ensure_ascii=False)}`")
        for note in data.get("notes", []):
            lines.append(f"- {note}")
        for fig in data.get("figures", []):
            if fig.get("notes"):
                lines.append(f"- {fig['name']}: {fig['notes']}")
        lines.append("")
    if run.get("retried"):
        lines += [
            "Benchmarks run a second time because the first attempt failed (the shared "
            "PostgreSQL was restarted by other people's fault-injection tests): "
            + ", ".join(run["retried"]),
            "",
        ]
    failed = run.get("failed", [])
    if failed:
        lines += ["## Benchmarks that failed", ""]
        lines += [f"- {name}" for name in failed]
        lines.append("")
    if run.get("findings"):
        lines += ["## Findings", "", run["findings"].strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(
    results_dir: Path,
    output: Path,
    run: dict[str, Any] | None = None,
    before_dir: Path | None = None,
) -> Path:
    """The report of the run in ``results_dir``; a full run is set beside the one in
    ``before_dir`` (default ``BEFORE_DIR``), a quick one beside nothing."""
    run_file = results_dir / "run.json"
    if run is None and run_file.exists():
        run = json.loads(run_file.read_text())
    findings = BENCH_DIR / "FINDINGS.md"
    full = run is not None and not run.get("quick")
    if run is not None and full and findings.exists():
        run = {**run, "findings": findings.read_text()}
    before_dir = before_dir or BEFORE_DIR
    before, before_run = {}, None
    if full and before_dir.resolve() != results_dir.resolve():
        before = load_results(before_dir)
        if (before_dir / "run.json").exists():
            before_run = json.loads((before_dir / "run.json").read_text())
    kept = sections(output.read_text()) if output.exists() else {}
    text = render(load_results(results_dir), run, before, before_run)
    for name, body in kept.items():
        text = _put_section(text, name, body)
    output.write_text(text)
    return output


# -- sections of other commands ------------------------------------------------------------
# ``python -m bench.faults`` and ``python -m bench.fuzz`` own a section each, between two
# HTML comments (invisible in the rendered file), so each rewrites only its own and a full
# ``python -m bench`` keeps them.

_SECTION = re.compile(
    r"<!-- section (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- end (?P=name) -->\n", re.S
)


def sections(text: str) -> dict[str, str]:
    """The marked sections of a report, by name."""
    return {m["name"]: m["body"] for m in _SECTION.finditer(text)}


def _put_section(text: str, name: str, body: str) -> str:
    block = f"<!-- section {name} -->\n{body.rstrip()}\n<!-- end {name} -->\n"
    for match in _SECTION.finditer(text):
        if match["name"] == name:
            return text[: match.start()] + block + text[match.end() :]
    return text.rstrip("\n") + "\n\n" + block


def replace_section(output: Path, name: str, body: str) -> Path:
    """Put ``body`` (Markdown) into ``output`` as section ``name``: replaced where it is, else
    appended; everything else in the file stays as it was."""
    text = output.read_text() if output.exists() else "# Benchmark results\n"
    output.write_text(_put_section(text, name, body))
    return output


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    args = parser.parse_args()
    print(write_report(args.results_dir, args.output))


if __name__ == "__main__":
    main()
