"""The Associate agent: users by id, with their logins.

`GetAssociateList` takes a JSON array of associate ids as its whole body and
answers `Associate[]`, where `Name` is the initials, "also login name"
(docs/en/api/reference/restful/agent/Associate_Agent/v1AssociateAgent_GetAssociateList.md).
Retired users are returned too (`Deleted: true`); unknown ids are left out.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from reconciler.emulator.context import Agent, Emulator
from reconciler.emulator.wire import carrier, json_response

ASSOCIATE = Agent("Associate")


@ASSOCIATE.method(
    "GetAssociateList",
    returns="Associate[] {AssociateId, Name (login), PersonId, Rank, Tooltip, Type, GroupIdx, FullName, "
    "FormalName, Deleted, EjUserId, UserName}",
    summary="The associates with the given ids (the body is a JSON array of ids)",
    body_is_ids=True,
)
async def get_associate_list(emu: Emulator, args: dict[str, Any]) -> Response:
    by_id = {u.id: (rank, u) for rank, u in enumerate(emu.seed.users, start=1)}
    found = [by_id[i] for i in dict.fromkeys(args["ids"]) if i in by_id]
    return json_response(
        [
            carrier(
                {"AssociateId": u.id, "Name": u.login, "PersonId": u.id, "Rank": rank, "Tooltip": u.full_name,
                 "Type": "Employee", "GroupIdx": 0, "FullName": u.full_name, "FormalName": u.full_name,
                 "Deleted": u.deleted, "EjUserId": 0, "UserName": u.login}
            )
            for rank, u in found
        ]
    )
