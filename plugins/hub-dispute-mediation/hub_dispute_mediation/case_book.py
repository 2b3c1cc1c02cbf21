"""Folding events into case state, and the parties of ``case.accepted`` into party rows.

The connector cannot read the hub's store, yet an event may arrive for a case accepted in an
older file or run; so the ``cases`` stream keeps every case's folded fields in its state, only
the non-empty ones, with a compact history (``[seq, type, ts]``, plus the data of events that
fold into no field). Parties never enter it: their IDs and phones must not reach an unclassified
column or the state. A folded case costs ~600 bytes of state (measured in bench/results/files.md):
thousands of cases are a few MB; evicting long-closed cases is the next step at larger scale.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from hub.connector import UNREADABLE_COLUMN
from hub_dispute_mediation.event_log import Event, dumps

CASE_COLUMNS = ("case_no", "category", "grid_code", "location", "summary", "level", "status", "mediator",
                "department", "accepted_at", "assigned_at", "resolved_at", "closed_at", "transferred_to",
                "failure_reason", "agreement", "amount", "feedback", "party_count", "updated_at", "history")
PARTY_COLUMNS = ("party_key", "case_no", "party_index", "role", "party_kind", "name", "id_no", "credit_code",
                 "phone", "case_grid_code", "case_location")

#: event type -> (status it sets, its time field, {data key: case field})
EFFECTS: dict[str, tuple[str | None, str | None, dict[str, str]]] = {
    "case.accepted": ("accepted", "accepted_at", {k: k for k in ("category", "grid_code", "location", "summary",
                                                                 "level")}),
    "case.assigned": ("assigned", "assigned_at", {"mediator": "mediator", "department": "department"}),
    "case.progress": ("in_progress", None, {}),
    "case.resolved": ("resolved", "resolved_at", {"agreement": "agreement", "amount": "amount"}),
    "case.failed": ("failed", None, {"reason": "failure_reason"}),
    "case.transferred": ("transferred", None, {"to": "transferred_to"}),
    "case.closed": ("closed", "closed_at", {"feedback": "feedback"}),
}

ORGANISATION_SUFFIXES = ("公司", "厂", "店", "合作社", "协会", "中心", "医院", "学校", "幼儿园", "超市", "饭店", "酒店",
                         "宾馆", "旅馆", "诊所", "药房", "集团", "银行", "委员会", "加油站", "事务所", "工作室", "经营部",
                         "商行", "门市部", "农场", "养殖场", "网吧", "棋牌室")
# words only a firm's name carries, wherever they stand (the name people use: 恒通物流, 康乐足浴, 王记蔬菜)
ORGANISATION_WORDS = ("有限", "公司", "政府", "小学", "中学", "卫生院", "派出所", "物流", "足浴", "蔬菜", "服装", "机械",
                      "建材", "陶瓷", "食品", "包装", "汽配", "配件", "塑料", "科技", "五金", "理发", "农资", "超市",
                      "便利", "饭店", "药房", "诊所", "网吧", "个体工商户")
_NOTE = re.compile(r"[(（\[【][^()（）\[\]【】]*[)）\]】]$")
_SHOP = re.compile(r"^[\u4e00-\u9fff]{1,2}记[\u4e00-\u9fff]{2,}$")  # 王记蔬菜: the X记 shop
_CITIZEN_ID = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
_CREDIT_CODE = re.compile(r"^[0-9A-Z]{18}$")


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    return dumps(value)


def fold(case: dict[str, Any], event: Event) -> dict[str, Any]:
    """Fold one event into a case. A late lower seq (a gap filled) joins the history in its place and
    sets its fields only when no later event of its type did; status stays with the newest event."""
    history = case.get("h", [])
    if not history or event.seq > history[-1][0]:
        return apply(case, event)
    superseded = any(e[1] == event.type and e[0] > event.seq for e in history)
    apply(case, event, late=True, fields=not superseded)
    case["h"].sort(key=lambda e: e[0])
    return case


def apply(case: dict[str, Any], event: Event, *, late: bool = False, fields: bool = True) -> dict[str, Any]:
    """Apply one event on top of a case (unknown event types only join the history).

    Folded data lives once, in the case's fields; the history keeps ``[seq, type, ts]`` plus the
    data of events that fold into no field (a progress note, an unknown type's payload).
    """
    status, _, mapping = EFFECTS.get(event.type, (None, None, {}))
    if status and not late:
        case["status"] = status
    if fields:  # the time fields (accepted_at, ...) are derived from the history by case_row
        for key, column in mapping.items():
            if event.data.get(key) is not None:
                case[column] = _scalar(event.data[key])
        if event.type == "case.accepted":
            case["party_count"] = len(parties_of(event.data.get("parties")))
    rest = {k: _scalar(v) for k, v in event.data.items() if k != "parties" and k not in mapping}
    case.setdefault("h", []).append([event.seq, event.type, event.ts, rest] if rest else
                                    [event.seq, event.type, event.ts])
    return case


def same_as_applied(case: dict[str, Any] | None, event: Event) -> bool:
    """Whether a re-delivered seq is the event already folded: same case, type, ts and unfolded data.

    Folded data lives only in the case's fields, so a restore that changed nothing but a folded value
    (an ``amount``) passes as the same event; any other difference is a conflict for the steward.
    """
    mapping = EFFECTS.get(event.type, (None, None, {}))[2]
    rest = {k: _scalar(v) for k, v in event.data.items() if k != "parties" and k not in mapping}
    for entry in (case or {}).get("h", []):
        if entry[0] == event.seq:
            return entry[1] == event.type and entry[2] == event.ts and (entry[3] if len(entry) > 3 else {}) == rest
    return False


def case_row(case_no: str, case: dict[str, Any]) -> dict[str, Any]:
    """A raw row of the ``cases`` stream (strings, as a vendor export would carry them)."""
    row: dict[str, Any] = {c: None for c in CASE_COLUMNS}
    for key, value in case.items():
        if key in row:
            row[key] = None if value is None else str(value)
    row["case_no"] = case_no
    history = []
    for entry in sorted(case.get("h", []), key=lambda e: e[0]):
        time_field = EFFECTS.get(entry[1], (None, None, {}))[1]
        if entry[2]:
            row["updated_at"] = entry[2]
            if time_field:
                row[time_field] = entry[2]  # the newest event of its type sets it
        item = {"seq": entry[0], "type": entry[1], "ts": entry[2]}
        if len(entry) > 3:
            item.update(entry[3])
        history.append(item)
    row["history"] = dumps(history)
    return row


def party_kind(name: str | None, id_no: str | None) -> str:
    """An organisation carries a credit code rather than a citizen ID, or an organisation's name."""
    ident = (id_no or "").replace(" ", "").upper()
    if ident and not _CITIZEN_ID.match(ident) and _CREDIT_CODE.match(ident):
        return "organisation"
    bare = _NOTE.sub("", re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")))  # (二分店), stray spaces
    if bare and (bare.endswith(ORGANISATION_SUFFIXES) or any(w in bare for w in ORGANISATION_WORDS)
                 or _SHOP.match(bare) or (len(bare) >= 6 and "·" not in bare)):
        return "organisation"
    return "person"


def parties_of(value: Any) -> list[Any]:
    """The ``parties`` list as other writers send it: a list, one party object, or the list JSON-encoded
    into a string. Anything else is one unusable entry (quarantined), never iterated into characters."""
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    if isinstance(value, dict):
        return [value]
    return list(value) if isinstance(value, list) else [value]


def party_rows(event: Event) -> list[dict[str, Any]]:
    """``case_no#N`` rows, N from 0 in the order of the accepted event's parties; each carries where its
    case arose, the only place evidence a party has (it tells two same-named shops apart). A party that
    is not an object becomes an unreadable row under its key, so it is quarantined, not lost."""
    rows = []
    grid_code, location = _text(event.data.get("grid_code")), _text(event.data.get("location"))
    for i, party in enumerate(parties_of(event.data.get("parties"))):
        if not isinstance(party, dict):
            rows.append({"party_key": f"{event.case_no}#{i}", "case_no": event.case_no, "party_index": str(i),
                         "party_kind": "person", UNREADABLE_COLUMN: f"seq {event.seq}: party {i} of "
                         f"case.accepted is a JSON {type(party).__name__}, not an object"})
            continue
        name, id_no = party.get("name"), party.get("id_no")
        kind = party_kind(None if name is None else str(name), None if id_no is None else str(id_no))
        rows.append({"party_key": f"{event.case_no}#{i}", "case_no": event.case_no, "party_index": str(i),
                     "role": _text(party.get("role")), "party_kind": kind, "name": _text(name),
                     "id_no": _text(id_no) if kind == "person" else None,
                     "credit_code": _text(id_no) if kind == "organisation" else None,
                     "phone": _text(party.get("phone")), "case_grid_code": grid_code,
                     "case_location": location})
    return rows


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
