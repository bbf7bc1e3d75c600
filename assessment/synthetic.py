"""SYNTHETIC bulk loader: a year of made-up appeals written straight into the analytical store,
for scale tests and benchmarks only.

Its rows are labelled `source = 'synthetic'` and numbered `SYN<yyyymmdd>-<nnnnnn>`, so they can
never be mistaken for, or collide with, real appeals (XS…): reports leave them out unless asked
(`include_synthetic`), and say so when they count them; `remove_synthetic` deletes them all.
The mix follows DOMAIN.md (淮北 2021 appeal kinds); townships, categories and lead units come from
the admin files, so every unit of the directory appears.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import typing
from pathlib import Path

from assessment import store
from admin_data.directory import Directory, DIRECTORY
from external_tasks.routing import Taxonomy
from admin_data.taxonomy import load_taxonomy
from admin_data.workdays import SHANGHAI

NUMBER_PREFIX = "SYN"

#: 淮北 2021: 投诉 51.3 %, 咨询 34.3 %, 求助 2.6 %, 建议 1.2 %, 举报 0.15 %; "other" (10.5 %)
#: spread over the kinds in proportion.
KIND_MIX = {"complaint": 51.3, "inquiry": 34.3, "help": 2.6, "suggestion": 1.2, "report": 0.15}
EVALUATION_MIX = {"satisfied": 78, "basically_satisfied": 14, "unsatisfied": 8}


#: Chances of the outcomes the generator draws.
CHANCES = {
    "answered_on_call": 0.3,   # of inquiries
    "signed_on_time": 0.96, "feedback_on_time": 0.93, "completed_on_time": 0.9,
    "still_open": 0.03, "solved": 0.85, "not_reached": 0.05, "redispatch": 0.03,
    "improper_return": 0.01, "supervision": 0.02, "consultation": 0.005, "important": 0.05,
}


def synthetic_row(number: str, received: dt.datetime, **values: typing.Any) -> dict:
    """A store row with neutral defaults (received, dispatched, open, nothing judged yet)."""
    local = received.astimezone(SHANGHAI)
    row = {column: 0 for column in store.COLUMNS} | {
        "appeal_number": number, "source": store.SYNTHETIC, "state": "open",
        "received_at": local.replace(microsecond=0).isoformat(),
        "received_date": local.date().isoformat(),
        "received_week": (local.date() - dt.timedelta(days=local.weekday())).isoformat(),
        "closed_at": None, "title": f"合成工单 {number}", "kind": "complaint",
        "category_code": None, "township": None,
        "lead_unit": None, "co_units": "[]", "closed_as": None, "evaluation": None,
        "solved_confirmed": None, "dispatched": 1, "unit_runs": 1,
        "consultation_outcome": None, "caller_key": None,
        **{f"{step}_{time}": None for step in ("sign_for", "feedback", "completion")
           for time in ("deadline", "done_at")}, "address_key": None,
        "major_risk_words": "[]", "merged_into": None}
    return row | values


class Generator:
    def __init__(self, seed: int, directory: Directory, taxonomy: Taxonomy):
        self.random = random.Random(seed)
        self.townships = [unit.id for unit in directory.units if unit.territorial]
        self.leaves = taxonomy.leaves

    def chance(self, outcome: str) -> bool:
        return self.random.random() < CHANCES[outcome]

    def pick(self, mix: dict[str, float]) -> str:
        return self.random.choices(list(mix), weights=list(mix.values()))[0]

    def row(self, number: str, received: dt.datetime) -> dict:
        kind = self.pick(KIND_MIX)
        leaf = self.random.choice(self.leaves)
        township = self.random.choice(self.townships)
        base = {"kind": kind, "category_code": leaf.code, "township": township,
                "caller_key": f"synthetic-caller-{self.random.randrange(60_000)}",
                "address_key": f"{township}|synthetic-address-{self.random.randrange(400)}"}
        if kind == "inquiry" and self.chance("answered_on_call"):
            return synthetic_row(number, received, **base, state="closed", dispatched=0,
                              unit_runs=0, closed_as="answered_on_call",
                              closed_at=received.isoformat())
        lead = township if leaf.lead == "territory" else leaf.department
        late = {step: not self.chance(on_time) for step, on_time in (
            ("sign_for", "signed_on_time"), ("feedback", "feedback_on_time"),
            ("completion", "completed_on_time"))}
        outcome = {f"{step}_{what}": flag for step, is_late in late.items()
                   for what, flag in (("judged", 1), ("on_time", int(not is_late)),
                                      ("overdue", int(is_late)))}
        redispatched = self.chance("redispatch")
        improper = self.chance("improper_return")
        supervision_level = self.random.choice((1, 1, 1, 2, 2, 3)) \
            if self.chance("supervision") else 0
        row = synthetic_row(
            number, received, **base, **outcome, lead_unit=lead,
            co_units=json.dumps(list(leaf.co_units)), overdue=int(any(late.values())),
            unit_runs=1 + redispatched + improper, redispatch_count=int(redispatched),
            return_count=int(improper), improper_return_count=int(improper),
            **{f"supervision_level{level}": int(level == supervision_level)
               for level in (1, 2, 3)},
            consultations=int(self.chance("consultation")),
            important=int(self.chance("important")), callback_attempts=1)
        if self.chance("still_open"):
            return row | {"completion_judged": int(late["completion"]),
                          "completion_on_time": 0}
        closed = received + dt.timedelta(days=self.random.uniform(0.5, 12))
        if self.chance("not_reached"):
            return row | {"state": "closed", "closed_as": "not_reached", "callback_attempts": 3,
                          "closed_at": closed.isoformat()}
        evaluation = self.pick(EVALUATION_MIX)
        return row | {"state": "closed", "closed_at": closed.isoformat(),
                      "closed_as": "completed_unsatisfied" if evaluation == "unsatisfied"
                      else "completed",
                      "evaluation": evaluation,
                      "solved_confirmed": int(evaluation != "unsatisfied"
                                              and self.chance("solved"))}


def synthetic_rows(count: int, year: int, seed: int = 2026,
                   directory: Directory | None = None,
                   taxonomy: Taxonomy | None = None) -> typing.Iterator[dict]:
    """`count` appeals spread evenly at random over `year`, oldest first."""
    directory = directory or DIRECTORY.current()
    generator = Generator(seed, directory, taxonomy or load_taxonomy(directory=directory))
    start = dt.datetime(year, 1, 1, tzinfo=SHANGHAI)
    seconds = (dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI) - start).total_seconds()
    moments = sorted(generator.random.uniform(0, seconds) for _ in range(count))
    per_day: dict[dt.date, int] = {}
    for offset in moments:
        received = start + dt.timedelta(seconds=offset)
        per_day[received.date()] = per_day.get(received.date(), 0) + 1
        yield generator.row(f"{NUMBER_PREFIX}{received:%Y%m%d}-{per_day[received.date()]:06d}",
                            received)


def load_synthetic(db_path: Path, count: int, year: int, seed: int = 2026,
                   progress: bool = True, batch: int = 5_000) -> int:
    """Write `count` synthetic appeals (replacing earlier synthetic rows); returns the count."""
    from tqdm import tqdm

    db = store.connect(db_path)
    try:
        remove_synthetic(db)
        rows: list[dict] = []
        with tqdm(total=count, desc="synthetic appeals (SYNTHETIC, scale tests only)",
                  unit="appeal", disable=not progress) as bar:
            for row in synthetic_rows(count, year, seed):
                rows.append(row)
                if len(rows) == batch:
                    _write(db, rows)
                    bar.update(len(rows))
                    rows = []
            _write(db, rows)
            bar.update(len(rows))
    finally:
        db.close()
    return count


def _write(db, rows: list[dict]) -> None:
    db.execute("BEGIN IMMEDIATE")
    store.upsert(db, rows)
    db.execute("COMMIT")


def remove_synthetic(db) -> int:
    return db.execute("DELETE FROM appeals WHERE source = ?", (store.SYNTHETIC,)).rowcount
