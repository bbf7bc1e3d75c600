"""The leaders' duty roster: validated data, and leader-received appeals at intake."""
import datetime as dt

import pytest

from admin_data.duty_roster import RosterError, duty_leader_at, load_roster
from admin_data.workdays import SHANGHAI
from tests.appeal_driver import AppealDriver
from tests.conftest import wait_until

HEADER = 'default_slot: {start: "09:00", end: "10:00"}\nslots:\n'


def roster(tmp_path, rows: str):
    path = tmp_path / "duty_roster.yaml"
    path.write_text(HEADER + rows, "utf-8")
    return load_roster(path)


def test_shipped_roster_is_valid_and_tuesday_to_friday():
    slots = load_roster()
    assert slots
    assert {slot.start.isoweekday() for slot in slots} <= {2, 3, 4, 5}
    assert all((slot.start.hour, slot.end.hour) == (9, 10) for slot in slots)


def test_who_is_on_duty(tmp_path):
    slots = roster(tmp_path, "  - {date: 2026-12-01, leader: leadermagistrate}\n"
                             "  - {date: 2026-12-02, leader: leaderurban, start: '15:00', end: '16:00'}\n")
    at = lambda *args: dt.datetime(*args, tzinfo=SHANGHAI)  # noqa: E731
    assert duty_leader_at(at(2026, 12, 1, 9, 0), slots) == "leadermagistrate"
    assert duty_leader_at(at(2026, 12, 1, 9, 59), slots) == "leadermagistrate"
    assert duty_leader_at(at(2026, 12, 1, 10, 0), slots) is None
    assert duty_leader_at(at(2026, 12, 2, 9, 30), slots) is None
    assert duty_leader_at(at(2026, 12, 2, 15, 30), slots) == "leaderurban"


@pytest.mark.parametrize("rows, expected", [
    ("  - {date: 2026-12-01, leader: leadermagistrate}\n"
     "  - {date: 2026-12-01, leader: leaderurban, start: '09:30', end: '10:30'}\n",
     "slots[1].date: 与 2026-12-01 09:00–10:00 县长 的坐班时间重叠"),
    ("  - {date: 2026-12-01, leader: nobody}\n",
     "slots[0].leader: 'nobody' 不是单位目录"),
    ("  - {date: 2026-12-01, leader: leaderurban, start: '11:00', end: '10:00'}\n",
     "slots[0].end: 结束时间应晚于开始时间"),
    ("  - {date: '2026-13-01', leader: leaderurban}\n",
     "slots[0].date: 应为日期"),
    ("  - {date: 2026-13-01, leader: leaderurban}\n",
     "不是有效的 YAML"),
])
def test_bad_rows_are_named(tmp_path, rows, expected):
    with pytest.raises(RosterError) as refused:
        roster(tmp_path, rows)
    assert expected in str(refused.value)


@pytest.mark.parametrize("received, leader", [
    ("2026-11-24T09:30:00+08:00", "leadersecretary"),  # a Tuesday slot of the shipped roster
    ("2026-11-24T10:30:00+08:00", None),
])
def test_appeal_taken_during_a_duty_slot_is_leader_received(settings, engine, as_user, received,
                                                            leader):
    appeals = AppealDriver(settings, engine, as_user)
    number = appeals.submit(receivedAt=received)
    status = wait_until(lambda: (s := appeals.status(number))["variables"].get("leaderReceived")
                        is not None and s, what="the appeal to be registered")
    assert status["variables"]["leaderReceived"] is (leader is not None)
    assert status["variables"]["dutyLeader"] == (leader or "")
    assert status["variables"]["important"] is (leader is not None)
