"""Topic `record-return` (记录退单): every return (退单) is kept with its reason and the hotline
centre's judgement, because assessment counts improper returns per unit.

Each entry is keyed by the appeal's running return number, so a redelivered task replaces its
own entry instead of adding a second one.
"""
import datetime as dt

from admin_data.directory import DIRECTORY
from external_tasks.runtime import TaskRouter
from admin_data.workdays import SHANGHAI

router = TaskRouter()


@router.task("record-return")
def record_return(returnCount: int, returnedBy: str, returnReason: str, returnImproper: bool,
                  returnReviewNote: str | None = None, returnRecords: list | None = None):
    unit = DIRECTORY.current().unit(returnedBy)
    records = [record for record in (returnRecords or []) if record.get("number") != returnCount]
    records.append({"number": returnCount, "unit": returnedBy,
                    "unitName": unit.name if unit else returnedBy, "reason": returnReason,
                    "improper": bool(returnImproper), "reviewNote": returnReviewNote or "",
                    "at": dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()})
    return {"returnRecords": sorted(records, key=lambda record: record["number"])}
