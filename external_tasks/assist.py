"""Topic `record-assist-opinion` (汇总协办意见): a co-unit's opinion reaches the lead unit.

Each co-unit's entry replaces its earlier one, so a redelivered task adds nothing twice. The
text form is what the lead unit's reply form shows. Two
co-units finishing at once conflict in the engine; the runtime then reruns the later one on
the fresh list.
"""
import datetime as dt

from deploy.directory import load_directory
from external_tasks.runtime import TaskRouter
from external_tasks.workdays import SHANGHAI

router = TaskRouter()


@router.task("record-assist-opinion")
def record_assist_opinion(coUnit: str, assistOpinion: str, assistOpinions: list | None = None):
    unit = load_directory().unit(coUnit)
    entries = [entry for entry in (assistOpinions or []) if entry.get("unit") != coUnit]
    entries.append({"unit": coUnit, "unitName": unit.name if unit else coUnit,
                    "opinion": assistOpinion,
                    "at": dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()})
    text = "\n".join(f"{entry['unitName']}: {entry['opinion']}" for entry in entries)
    return {"assistOpinions": entries, "assistOpinionsText": text}
