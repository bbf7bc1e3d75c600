"""The demo-appeal generator on the real engine: its planned appeals all close, with the
outcomes planned, and the sync brings them into the store."""
from __future__ import annotations

from assessment import store
from assessment.sync import sync
from console.demo_appeals import draw_plans, run_demo

COUNT = 12
SEED = 7


def test_plans_follow_the_appeal_mix():
    plans = draw_plans(2_000, seed=1)
    kinds = {kind: sum(1 for plan in plans if plan.kind == kind) / len(plans)
             for kind in ("complaint", "inquiry")}
    assert 0.52 < kinds["complaint"] < 0.62 and 0.33 < kinds["inquiry"] < 0.43  # 淮北 mix, rescaled
    assert any(plan.late for plan in plans) and any(plan.improper_return for plan in plans)
    assert any("unsatisfied_redispatch" in plan.callbacks for plan in plans)
    assert any(plan.callbacks == ["not_reached"] * 3 for plan in plans)


def test_demo_appeals_run_through_the_engine_and_sync(settings, engine, tmp_path):
    plans = draw_plans(COUNT, SEED)
    numbers = run_demo(settings, COUNT, SEED)
    assert len(numbers) == COUNT
    path = tmp_path / "demo.sqlite3"
    sync(engine, path)
    db = store.connect(path)
    rows = {row["appeal_number"]: dict(row) for row in db.execute(
        f"SELECT * FROM appeals WHERE appeal_number IN ({', '.join('?' * COUNT)})", numbers)}
    db.close()
    assert set(rows) == set(numbers)
    for number, plan in zip(numbers, plans):
        row = rows[number]
        assert row["state"] == "closed" and row["kind"] == plan.kind, (number, plan, row)
        if plan.answered_on_call:
            assert row["closed_as"] == "answered_on_call" and not row["dispatched"]
            continue
        assert row["dispatched"] and row["township"] == plan.township
        if plan.late:
            assert row[f"{plan.late}_overdue"] and not row[f"{plan.late}_on_time"]
            assert row["supervision_level1"] + row["supervision_level2"] >= 1
        if plan.improper_return:
            assert row["improper_return_count"] == 1
        last = plan.callbacks[-1] if plan.callbacks else None
        expected = {"not_reached": "not_reached", "unsatisfied_closed": "completed_unsatisfied"}
        assert row["closed_as"] == expected.get(last, "completed"), (number, plan, row)
