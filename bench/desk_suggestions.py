"""Benchmark of the desk's suggestions on the real stack.

    .venv/bin/python bench/desk_suggestions.py [--requests 300]

Uses the stack of the current SUBAN_* settings (`suban up` starts it if it is not running) and
sends `POST /api/v1/suggestions` one after another, as an agent's typing does, with texts that
vary (a caller each, so the phone lookup runs every time), then prints p50/p95/max. The target
is p95 under 50 ms on the 2-core machine with the stack running.

Measured 2026-12-04 on the shared 2-core machine (other engineers' stacks and tests running):
at a load average of about 20, p50 96 ms, p95 213 ms; after the suggester's per-request waste was
removed (labels built once per suggestion), at a load average of about 3.5: p50 16–23 ms, p95
29–50 ms. The engine's answers (the caller's earlier appeals, similar open appeals) and the
classifier (character n-grams and jieba's words) are most of the rest.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admin_data.environment import Settings  # noqa: E402
from bench.worker_throughput import percentile  # noqa: E402
from cli import operations  # noqa: E402

TEXTS = (
    ("路灯不亮", "官桥镇中心街的路灯坏了一个星期，晚上一片漆黑"),
    ("物业不清理垃圾", "凤城街道金水湾小区楼道垃圾堆积，物业不作为"),
    ("拖欠工资", "在工地干了三个月，老板一直拖欠工资不给"),
    ("孩子上学", "咨询一下外地户口的孩子在县城上小学需要什么材料"),
    ("噪音扰民", "龙河镇某工地晚上十二点还在施工，噪音很大睡不着"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    settings = Settings.from_env()
    operations.up(settings)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {settings.api_token}"
    url = f"{settings.console_url}/api/v1/suggestions"
    for title, content in TEXTS:  # warm: the first call loads the admin files and the model
        session.post(url, json={"title": title, "content": content}, timeout=30).raise_for_status()
    took = []
    for index in range(args.requests):
        title, content = TEXTS[index % len(TEXTS)]
        body = {"title": title, "content": content[: 8 + index % len(content)],
                "phone": f"137{index:08d}"}
        started = time.perf_counter()
        session.post(url, json=body, timeout=30).raise_for_status()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    print(f"suggestions: {len(took)} requests, p50 {percentile(took, 0.50):.1f} ms, "
          f"p95 {percentile(took, 0.95):.1f} ms, max {took[-1]:.1f} ms (target p95 < 50 ms)")


if __name__ == "__main__":
    main()
