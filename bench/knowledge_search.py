"""Benchmark of the knowledge base's search (知识库检索): p50/p95 of a search over 20,000 published
entries (target p95 < 50 ms).

    .venv/bin/python bench/knowledge_search.py [--entries 20000] [--queries 500]

The corpus is SYNTHETIC, in a throwaway file: the demo entries, then variants of them with a
place and a qualifier mixed into question, keywords and answer until `--entries`, spread over
the taxonomy's leaves, so common words match thousands of entries as they would in a county's
real base. Queries are questions as callers say them; every search is timed as an agent's
search runs it (open the file, query, rank, read the top 10).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admin_data.taxonomy import TAXONOMY  # noqa: E402
from console.knowledge.store import DEMO_FILE, KnowledgeBase  # noqa: E402

PLACES = ("凤城街道", "龙城镇", "黄口镇", "杨楼镇", "闫集镇", "新庄镇", "刘套镇", "马井镇", "大屯镇",
          "赵庄镇", "杜楼镇", "丁里镇", "王寨镇", "祖楼镇", "青龙集镇", "经开区", "石林乡")
QUALIFIERS = ("老年人", "外地户籍", "残疾人", "学生", "个体户", "企业职工", "农民工", "退役军人",
              "低保户", "新市民", "独生子女", "单亲家庭", "孕产妇", "失地农民", "返乡创业人员")
QUERIES = ("我没单位想自己交社保", "身份证丢了去哪补", "小区停水了啥时候来水", "孩子上一年级在哪报名",
           "二手房怎么过户", "老板拖欠工资不给", "电费怎么这么高", "家里有煤气味", "医保在哪交",
           "驾照快到期了", "想开个小店办执照", "种地补贴没发", "低保怎么申请", "外地住院能报销吗",
           "公积金怎么提取", "水", "退休手续", "孩子上户口")


def corpus(size: int, seed: int = 7) -> list[dict]:
    today = dt.date.today()
    demo = yaml.safe_load(DEMO_FILE.read_text("utf-8"))
    leaves = [leaf for leaf in TAXONOMY.current().leaves]
    rng = random.Random(seed)
    entries = []
    for number in range(size):
        base = demo[number % len(demo)]
        place, qualifier = rng.choice(PLACES), rng.choice(QUALIFIERS)
        leaf = base["category"] if number < len(demo) else rng.choice(leaves).code
        entries.append({
            "unit": base["unit"], "category": leaf,
            "question": f"{place}{qualifier}{base['question']}（第 {number} 条）",
            "answer": f"{qualifier}在{place}办理时：{base['answer']}",
            "keywords": f"{base['keywords']},{place},{qualifier}", "policy_doc": "基准测试",
            "policy_url": "", "valid_from": (today - dt.timedelta(days=30)).isoformat(),
            "valid_until": (today + dt.timedelta(days=365)).isoformat()})
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=500)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        knowledge = KnowledgeBase(Path(folder) / "knowledge.sqlite")
        knowledge.add_published(corpus(options.entries), "bench", demo=True, note="基准测试")
        print(f"loaded {options.entries} entries in {time.perf_counter() - started:.1f} s")
        timings = []
        for number in range(options.queries):
            query = QUERIES[number % len(QUERIES)]
            started = time.perf_counter()
            knowledge.search(query, limit=10, record_gap=False)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"search over {options.entries} entries, {options.queries} queries: "
              f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
              f"max {timings[-1]:.1f} ms (target p95 < 50 ms)")


if __name__ == "__main__":
    main()
