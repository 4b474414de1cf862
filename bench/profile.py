"""``python -m bench.profile NAME [--db postgresql|sqlite]``: one subject run under pyinstrument.

Sets up the same scratch data as the benchmark NAME (sweep, transitions, email), runs the
subject once untimed to warm up and once under the profiler, and writes the call tree to
bench/results/profiles/NAME-DB.txt. For the API, profile the server with py-spy instead
(see bench/FINDINGS.md). Never touches anything but scratch databases.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from bench.common import (
    RESULTS_DIR,
    Options,
    parse_options,
    postgres_database,
    scratch,
    sqlite_database,
)


def _database(opts: Options, kind: str, name: str) -> AbstractContextManager[str]:
    return postgres_database(opts) if kind == "postgresql" else sqlite_database(opts, name)


def _profile(work: Callable[[], object], before: Callable[[], None], output: Path) -> None:
    from pyinstrument import Profiler

    before()
    work()
    before()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    work()
    profiler.stop()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"wrote {output}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("name", choices=("sweep", "transitions", "email"))
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--size", type=int, default=None, help="rows (sweep), measures, messages")
    args = parser.parse_args(argv)
    opts = parse_options(f"profile-{args.name}", "", ["--pg-database", "zf_bench_profile"])
    output = RESULTS_DIR / "profiles" / f"{args.name}-{args.db}.txt"
    with scratch(opts), _database(opts, args.db, args.name) as url:
        if args.name == "sweep":
            from bench.sweep import SweepData

            total = args.size or 100_000
            sweep = SweepData(url, total)
            sweep.load()
            sweep.make_due(100)
            _profile(sweep.subject, sweep.reset, output)
            sweep.close()
        elif args.name == "transitions":
            from bench.transitions import TransitionData

            transitions = TransitionData(url, args.size or 300)
            _profile(transitions.zielflow, transitions.reset, output)
            transitions.close()
        else:
            from bench.email import EmailData, free_port
            from bench.sink import SinkProcess

            sink = SinkProcess(free_port())
            try:
                mail = EmailData(url, args.size or 2_000, sink, opts.scratch_dir)
                _profile(mail.sender, mail.reset, output)
                mail.close()
            finally:
                sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
