"""Topic `collect-opinions` (汇总意见): the opinions several parties gave in parallel, as one
list for the next step.

Used wherever parties answer side by side in a multi-instance subprocess: co-units' 协办
opinions for the lead unit, departments' opinions in a 1+X consultation, deputies' opinions in
a level-3 supervision. Each instance keeps its party (`opinionBy`) and its opinion (input
`opinionVariable`) as its own local variables; once all have answered, this task reads them
from the engine's history. Collecting after the parallel part, not inside it, means two parties
finishing at once cannot overwrite each other's entry. The list is `opinionsVariable`, its text
(what the forms show) `<opinionsVariable>Text`; a party asked again in a later round is listed
with its latest opinion. Reading history makes a redelivered task give the same result.
"""
from admin_data.directory import DIRECTORY
from external_tasks.appeal import history_variables
from external_tasks.camunda import EngineClient, LockedTask, from_typed
from external_tasks.runtime import IncidentError, TaskRouter

router = TaskRouter()

PARTY = "opinionBy"


@router.task("collect-opinions")
def collect_opinions(task: LockedTask, engine: EngineClient, opinionsVariable: str,
                     opinionVariable: str):
    for name, value in (("opinionsVariable", opinionsVariable),
                        ("opinionVariable", opinionVariable)):
        if not value.isidentifier():
            raise IncidentError(f"collect-opinions: input '{name}' is {value!r}, expected a "
                                "variable name (fix the BPMN input parameter)")
    found = history_variables(engine, [task.process_instance_id], (opinionVariable, PARTY))
    instances: dict[str, dict] = {}
    for variable in found:
        instances.setdefault(variable["executionId"], {})[variable["name"]] = variable
    directory = DIRECTORY.current()
    latest: dict[str, dict] = {}
    for scope in sorted(instances.values(),
                        key=lambda scope: scope.get(PARTY, {}).get("createTime") or ""):
        party, opinion = (from_typed(scope.get(name, {})) for name in (PARTY, opinionVariable))
        if party and opinion:
            unit = directory.unit(party)
            latest[party] = {"unit": party, "unitName": unit.name if unit else party,
                             "opinion": opinion}
    entries = list(latest.values())
    text = "\n".join(f"{entry['unitName']}: {entry['opinion']}" for entry in entries)
    return {opinionsVariable: entries, f"{opinionsVariable}Text": text}
