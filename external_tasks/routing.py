"""派单建议 by 属地 + 属事: who should lead an appeal and who should help.

Topic `route-appeal`. The plan (萧政办秘〔2022〕18号 三（三）) dispatches by territory (the township,
街道 or 经开区 where the matter is) and by matter (the responsible department), with one lead unit and
co-units. Two admin files drive it, read through `admin_data`: the taxonomy and dispatch table
(`admin_data.taxonomy`) and the gazetteer (`admin_data.gazetteer`, which finds the township).

Reads `categoryCode`, `township` (a unit id, optional), `address`, `title`, `content` and the
`difficulty` the call taker chose at intake; sets
`proposedLeadUnit`, `proposedCoUnits`, `proposedTownship`, `routingBasis` ("territory" | "matter"),
`routingStatus` ("ok" | "unknown_category" | "unknown_location" | "ambiguous_location"),
`routingNote` (Chinese, shown in the manual dispatch task), `categoryName`, `difficulty` (complex
when the leaf or the call taker says so), `autoDispatch`, and — only when `autoDispatch` — `leadUnit` and `coUnits`.

`propose_route` serves the web console and the admins' preview as well.
"""
from __future__ import annotations

import dataclasses
import typing

from admin_data.directory import DIRECTORY, Directory
from admin_data.gazetteer import AMBIGUOUS, FOUND, GAZETTEER, UNKNOWN, Gazetteer, TownshipMatch, locate_appeal
from admin_data.taxonomy import COMPLEX, ORDINARY, TAXONOMY, TERRITORY, Taxonomy
from external_tasks.runtime import TaskRouter

OK = "ok"
UNKNOWN_CATEGORY = "unknown_category"
UNKNOWN_LOCATION = "unknown_location"
AMBIGUOUS_LOCATION = "ambiguous_location"

router = TaskRouter()


# -- the proposal ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RouteProposal:
    status: str
    basis: str | None
    lead_unit: str | None
    co_units: tuple[str, ...]
    township: str | None
    category_name: str | None
    difficulty: str
    auto_dispatch: bool
    note: str
    location: TownshipMatch

    def to_variables(self) -> dict:
        variables = {
            "proposedLeadUnit": self.lead_unit,
            "proposedCoUnits": list(self.co_units),
            "proposedTownship": self.township,
            "routingBasis": self.basis,
            "routingStatus": self.status,
            "routingNote": self.note,
            "categoryName": self.category_name,
            "difficulty": self.difficulty,
            "autoDispatch": self.auto_dispatch,
        }
        if self.auto_dispatch:
            variables |= {"leadUnit": self.lead_unit, "coUnits": list(self.co_units)}
        return variables


def propose_route(category_code: str | None, township: str | None = None,
                  address: str | None = None, title: str | None = None,
                  content: str | None = None, *, intake_difficulty: str | None = None,
                  taxonomy: Taxonomy | None = None,
                  gazetteer: Gazetteer | None = None,
                  directory: Directory | None = None) -> RouteProposal:
    """Lead unit and co-units for an appeal; the current admin files unless others are given.

    `intake_difficulty` is what the call taker chose: a complex appeal stays complex even in an
    ordinary category, since the caller's case may be harder than its category.
    """
    directory = directory or DIRECTORY.current()
    taxonomy = taxonomy or TAXONOMY.current()
    gazetteer = gazetteer or GAZETTEER.current()
    location = locate_appeal(township, address, title, content, gazetteer, directory)
    found = location.township if location.status == FOUND else None
    leaf = taxonomy.leaf(category_code)
    describe = _Describer(directory)

    if leaf is None:
        what = (f"诉求分类编码“{category_code}”不在分类目录中" if category_code
                else "尚未选择诉求分类")
        difficulty = intake_difficulty if intake_difficulty in (ORDINARY, COMPLEX) else ORDINARY
        return RouteProposal(UNKNOWN_CATEGORY, None, None, (), found, None, difficulty, False,
                             f"{what}，请人工选择分类并派单。{describe.location(location)}。",
                             location)

    if leaf.lead == TERRITORY:
        co_units = _unique((leaf.department,) + leaf.co_units)
        lead = found
        status = {FOUND: OK, UNKNOWN: UNKNOWN_LOCATION, AMBIGUOUS: AMBIGUOUS_LOCATION}[location.status]
        if lead:
            route = (f"“{leaf.full_name}”按属地原则由乡镇（街道）牵头：{describe.location(location)}，"
                     f"建议{describe.unit(lead)}牵头，{describe.units(co_units)}配合。")
        else:
            route = (f"“{leaf.full_name}”按属地原则由乡镇（街道）牵头，但{describe.location(location)}，"
                     f"请人工确定牵头乡镇（街道）；建议{describe.units(co_units)}配合。")
    else:
        co_units = _unique(leaf.co_units + ((found,) if found else ()))
        lead = leaf.department
        # The department leads wherever the matter is; but a matter someone must go and see
        # (a broken lamp "somewhere") is not dispatched before a person finds the place.
        status = OK if found or not leaf.needs_place else \
            {UNKNOWN: UNKNOWN_LOCATION, AMBIGUOUS: AMBIGUOUS_LOCATION}[location.status]
        route = f"“{leaf.full_name}”按属事原则由{describe.unit(lead)}牵头；{describe.location(location)}，"
        route += (f"{describe.unit(found)}属地配合" if found
                  else "暂无属地配合单位，可在派单时补充")
        others = [unit for unit in co_units if unit != found]
        route += f"；{describe.units(others)}配合。" if others else "。"

    # A township id the directory does not know means the intake went wrong: a person looks.
    auto = leaf.auto_dispatch and status == OK and not location.rejected_township
    if auto:
        dispatch = "该分类已开启自动派单，按此建议派单。"
    elif not leaf.auto_dispatch:
        dispatch = "该分类未开启自动派单，请核对后派单。"
    elif location.rejected_township:
        dispatch = "登记的属地有误，转人工派单。"
    elif leaf.lead != TERRITORY:
        dispatch = "该分类须到现场处理，但未能确定地点所在乡镇（街道），转人工派单。"
    else:
        dispatch = "属地未确定，转人工派单。"
    note = route + dispatch + (leaf.note + "。" if leaf.note else "")
    difficulty = COMPLEX if COMPLEX in (leaf.difficulty, intake_difficulty) else ORDINARY
    return RouteProposal(status, leaf.lead, lead, co_units, found, leaf.full_name,
                         difficulty, auto, note, location)


def _unique(unit_ids: typing.Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(unit_ids))


class _Describer:
    """The Chinese phrases of a routing note, with unit names from the directory."""

    def __init__(self, directory: Directory):
        self.directory = directory

    def unit(self, unit_id: str) -> str:
        unit = self.directory.unit(unit_id)
        return unit.name if unit else unit_id

    def units(self, unit_ids: typing.Iterable[str]) -> str:
        return "、".join(self.unit(unit_id) for unit_id in unit_ids)

    def location(self, match: TownshipMatch) -> str:
        prefix = (f"登记的属地“{match.rejected_township}”不是单位目录中的乡镇（街道），已改按地址判断，"
                  if match.rejected_township else "")
        where = {"address": "地址", "text": "诉求内容"}.get(match.source, "")
        names = "、".join(f"“{name}”" for name in match.matched_names)
        if match.status == FOUND and match.source == "given":
            return prefix + f"登记的属地为{self.unit(match.township)}"
        if match.status == FOUND:
            return prefix + f"{where}中识别到{names}，属{self.unit(match.township)}"
        if match.status == AMBIGUOUS:
            return prefix + f"{where}中出现多个乡镇（街道）：{self.units(match.candidates)}（{names}）"
        return prefix + "未能从地址和诉求内容中识别乡镇（街道）"


@router.task("route-appeal")
def route_appeal(categoryCode: str | None = None, township: str | None = None,
                 address: str | None = None, title: str | None = None,
                 content: str | None = None, difficulty: str | None = None) -> dict:
    return propose_route(categoryCode, township, address, title, content,
                         intake_difficulty=difficulty).to_variables()
