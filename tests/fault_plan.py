"""Seeded plans of faults for one run of the fault suite: which, when, against whom. Pure.

Run ``i`` always gets the primary fault ``PRIMARY[i % len(PRIMARY)]`` (so eight runs cover every
kind) plus seeded random extras. Temporary SMTP failures cost a minute of back-off, so they
appear only in their own run; everything else may be combined freely.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

PRIMARY = (
    "kill after store",
    "restart postgres",
    "kill before store",
    "restart redis",
    "smtp 4xx + hang",
    "kill at random",
    "smtp 5xx",
    "kill just after a 250 + restart postgres",
)


@dataclass
class Plan:
    index: int
    seed: int
    primary: str
    workers: int = 1
    second_beat: bool = False
    hold_kill: str | None = None  # "stored" or "rcpt": kill the sender while the sink holds it
    random_kills: list[float] = field(default_factory=list)  # seconds after the start
    kill_after_copy: tuple[int, float] | None = None  # n-th stored copy, then a pause (s)
    redis_restart: tuple[float, float, bool] | None = None  # at, down for, crash
    pg_restart: tuple[float, float, str] | None = None  # at, down for, stop mode
    refuse: str | None = None  # recipient whose first delivery is refused with 4xx
    hang: str | None = None  # recipient whose first delivery hangs
    fail: str | None = None  # recipient every delivery to whom fails with 5xx
    answer_at: list[float] = field(default_factory=list)
    answer_in_outage: bool = False  # one answer starts while PostgreSQL is down

    def faults(self) -> list[str]:
        out = []
        if self.hold_kill:
            out.append(f"kill {'after store' if self.hold_kill == 'stored' else 'before store'}")
        out += [f"kill at {t:.1f}s" for t in self.random_kills]
        if self.kill_after_copy:
            n, pause = self.kill_after_copy
            out.append(f"kill {pause * 1000:.0f}ms after copy #{n}")
        if self.redis_restart:
            at, down, crash = self.redis_restart
            out.append(f"redis {'crash' if crash else 'restart'} at {at:.1f}s ({down:.1f}s down)")
        if self.pg_restart:
            at, down, mode = self.pg_restart
            out.append(f"postgres {mode} restart at {at:.1f}s ({down:.1f}s down)")
        out += [f"smtp {k}" for k, v in (("4xx", self.refuse), ("hang", self.hang)) if v]
        if self.fail:
            out.append("smtp 5xx")
        if self.second_beat:
            out.append("two beats")
        if self.workers > 1:
            out.append(f"{self.workers} workers")
        return out


def make_plan(index: int, seed: int, contacts: list[str], answers: int) -> Plan:
    rng = random.Random(seed)
    primary = PRIMARY[index % len(PRIMARY)]
    plan = Plan(index=index, seed=seed, primary=primary)
    plan.workers = 2 if rng.random() < 0.4 else 1
    plan.second_beat = index % 2 == 0 or rng.random() < 0.3
    if "after store" in primary:
        plan.hold_kill = "stored"
    elif "before store" in primary:
        plan.hold_kill = "rcpt"
    if "at random" in primary or rng.random() < 0.3:
        plan.random_kills = sorted(
            round(rng.uniform(3.0, 10.0), 1) for _ in range(rng.randint(1, 2))
        )
    if "just after a 250" in primary or (not plan.hold_kill and rng.random() < 0.4):
        plan.kill_after_copy = (rng.randint(1, 20), round(rng.uniform(0.0, 0.04), 3))
    if "redis" in primary or rng.random() < 0.25:
        plan.redis_restart = (
            round(rng.uniform(2.0, 9.0), 1),
            round(rng.uniform(0.5, 3.0), 1),
            rng.random() < 0.5,
        )
    if "postgres" in primary or rng.random() < 0.2:
        plan.pg_restart = (
            round(rng.uniform(2.5, 9.0), 1),
            round(rng.uniform(0.5, 3.0), 1),
            rng.choice(["fast", "immediate"]),
        )
        plan.answer_in_outage = True
    candidates = list(contacts)
    rng.shuffle(candidates)
    if "4xx" in primary:
        plan.refuse, plan.hang = candidates.pop(), candidates.pop()
    if "5xx" in primary or rng.random() < 0.3:
        # Not the head: two escalations to one head may share an email (and a notice).
        plan.fail = rng.choice(candidates)
    plan.answer_at = sorted(round(rng.uniform(0.5, 10.0), 1) for _ in range(answers))
    return plan
