"""Runs one sweep in its own process, for tests of concurrent sweeps: URL, ISO time, batch size."""

from __future__ import annotations

import json
import sys
from datetime import datetime

from workflow.clock import FrozenClock
from workflow.db import make_engine, make_session_factory
from workflow.sweep import run_sweep


def main() -> None:
    url, moment, batch = sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3])
    engine = make_engine(url)
    report = run_sweep(
        sessions=make_session_factory(engine), clock=FrozenClock(moment), batch_size=batch
    )
    engine.dispose()
    print(json.dumps({"examined": report.examined, "queued": report.queued}))


if __name__ == "__main__":
    main()
