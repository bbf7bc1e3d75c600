"""Topic `train-category-suggester` (训练分类建议模型): the desk's category suggester kept current.

`bpmn/hotline_suggester_retrain.bpmn` runs every night at hotline.yaml `daily.suggester_retrain`
(02:30 Asia/Shanghai by default). The model is
trained again when the newest usable model is at least `suggester.retrain_every_days` days old
(hotline.yaml, an admin setting; 7 by default), counted in Beijing calendar days from its training
date to the night the timer fired; otherwise the run ends saying when it is due. Each training
writes a new model version (`category_suggester.train`); the workers and the console read the
newest usable file on their next suggestion, without restart.

A training that fails (the engine does not answer, the disk is full, …) writes nothing: the
previous model stays in use, the task goes through the worker's retries and then shows as an
incident at 训练分类建议模型 in Cockpit; retrying the incident trains again. Delivered twice, the
task trains once: the second delivery finds a model trained that night.
"""
from __future__ import annotations

import datetime as dt

from admin_data.hotline import HOTLINE
from admin_data.workdays import SHANGHAI
from external_tasks import category_suggester
from external_tasks.camunda import EngineClient, LockedTask, parse_engine_date
from external_tasks.runtime import TaskRouter

router = TaskRouter()

#: A training reads every closed appeal and fits the classifier: minutes on a big county.
TRAINING_LOCK_MS = 30 * 60_000


def retrain_due(trained_at: dt.datetime | None, night: dt.date, every_days: int) -> bool:
    """Whether a model trained at `trained_at` (None: no usable model) is due again on `night`."""
    return trained_at is None or (night - trained_at.astimezone(SHANGHAI).date()).days >= every_days


@router.task("train-category-suggester", lock_ms=TRAINING_LOCK_MS)
def train_category_suggester(task: LockedTask, engine: EngineClient):
    started = parse_engine_date(engine.get(
        f"/history/process-instance/{task.process_instance_id}")["startTime"])
    every_days = HOTLINE.current()["suggester"]["retrain_every_days"]
    current = category_suggester.newest_usable_model(category_suggester.model_folder())
    if not retrain_due(current and current.trained_at, started.astimezone(SHANGHAI).date(),
                       every_days):
        due = current.trained_at.astimezone(SHANGHAI).date() + dt.timedelta(days=every_days)
        return {"suggesterModel": current.path.name,
                "suggesterTraining": f"未到重训日期（每 {every_days} 天一次，{due.isoformat()} 起）"}
    info = category_suggester.train(engine)
    return {"suggesterModel": info.path.name,
            "suggesterTraining": f"已训练：{info.examples} 个样本，其中已办结诉求 {info.from_appeals} 件，"
                                 f"模型文件 {info.path.stat().st_size // 1024} KiB"}
