"""An edited admin file is written back with its comments: the header, comments beside and between
entries, an entry's comment when the entry before it is removed, and the values PyYAML reads."""
from __future__ import annotations

import datetime as dt

import yaml

from admin_data.loader import SHIPPED_FILES, raw_data
from admin_data.round_trip import updated_content

ROSTER = """# 坐班表的说明
default_slot: {start: "09:00", end: "10:00"}   # 默认时段
slots:
  - {date: 2026-12-01, leader: leaderurban}   # 第一个
  - {date: 2026-12-02, leader: leaderrural}
  # 下面是十二月第二周
  - {date: 2026-12-08, leader: leadersocial}
"""


def written(text: str, change) -> str:
    data = raw_data(text)
    change(data)
    return updated_content(text, data).decode("utf-8")


def test_a_changed_value_keeps_every_comment_and_the_rest_as_written():
    def change(data):
        data["slots"][1]["leader"] = "leaderpolice"
        data["default_slot"]["end"] = "10:30"
    text = written(ROSTER, change)
    assert text == ROSTER.replace("leaderrural", "leaderpolice").replace('"10:00"', '"10:30"')


def test_a_removed_entry_leaves_the_comment_before_the_next_one():
    text = written(ROSTER, lambda data: data["slots"].pop(1))
    assert "leaderrural" not in text
    assert "# 第一个" in text and "# 下面是十二月第二周" in text
    assert text.index("# 下面是十二月第二周") < text.index("leadersocial")


def test_a_new_entry_is_one_line_and_reads_back_as_written():
    def change(data):
        data["slots"].insert(1, {"date": "2026-12-01", "leader": "leadercppcc", "start": "15:00",
                                 "end": "16:00"})
    text = written(ROSTER, change)
    assert "  - {date: 2026-12-01, leader: leadercppcc, start: '15:00', end: '16:00'}\n" in text
    slot = yaml.safe_load(text)["slots"][1]  # as the workers read it: a date, "15:00" a text
    assert slot == {"date": dt.date(2026, 12, 1), "leader": "leadercppcc", "start": "15:00",
                    "end": "16:00"}
    assert text.startswith("# 坐班表的说明\n") and "# 第一个" in text


def test_a_shipped_file_saved_unchanged_is_the_same_file_and_a_template_edit_keeps_comments():
    original = (SHIPPED_FILES / "notifications.yaml").read_text("utf-8")
    assert written(original, lambda data: None) == original

    def change(data):
        data["templates"]["unit_reminder"]["text"] = "{unitName}：\n请抓紧办理。"
        data["templates"]["caller_received"]["text"] = "您反映的“{title}”已受理。"
    text = written(original, change)
    comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
    assert comments == [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert "    text: |\n      {unitName}：\n      请抓紧办理。\n" in text
    assert yaml.safe_load(text)["templates"]["unit_reminder"]["text"] == "{unitName}：\n请抓紧办理。\n"
