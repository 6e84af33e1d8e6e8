"""The `sync` block of an ErpConnection: how the connection synchronises
(docs/manifests.md, "Sync configuration"). Keys are stable names, never numeric ids."""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# docs/en/database/tables/enums/erpactortype.md and crmactortype.md
ErpActorName = Literal["Customer", "Supplier", "Partner", "Person", "Project", "Employee", "Sale"]
CrmActorName = Literal["Contact", "Person", "Project", "Sale"]
# (SyncToCrm, SyncToErp): toCrm (true, false), toErp (false, true), both, none.
DirectionName = Literal["toCrm", "toErp", "both", "none"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyncField(_Strict):
    """One ERP field of an actor type. A field the actor's `fields` leaves out is unmapped and hidden."""

    crmField: StrictStr | None = Field(default=None, min_length=1, description="The CRM field (CrmFieldKey), e.g. contact/name.")
    direction: DirectionName = Field(default="none", description="toCrm, toErp, both or none; needs crmField.")
    search: StrictBool = Field(default=False, description="Show in search results (ShowInSearch).")
    erpTab: StrictBool = Field(default=False, description="Show the live ERP value on the ERP tab (ShowInGui).")


class SyncDefault(_Strict):
    """A value for new ERP actors that the CRM creates (ErpSyncDefaultValue)."""

    value: Union[StrictStr, StrictInt, None] = Field(default=None, description="Preset value; for a List field the ERP item key.")
    askUser: StrictBool = Field(default=False, description="Ask the user for the value (PromptUser).")
    mandatory: StrictBool = Field(default=False, description="The user must supply a value; needs value or askUser.")


class SyncActor(_Strict):
    enabled: StrictBool = Field(default=True, description="Sync this ERP actor type (IsActive).")
    crmActor: CrmActorName | None = Field(default=None, description="Checked against the connector's pairing.")
    fields: dict[StrictStr, SyncField] = Field(default_factory=dict, description="Complete for the actor, by ERP field key.")
    erpTabOrder: list[StrictStr] | None = Field(default=None, description="Order of fields on the ERP tab.")
    defaults: dict[StrictStr, SyncDefault] | None = Field(default=None, description="When present, complete for the actor.")
    lists: dict[StrictStr, dict[StrictStr, StrictStr | None]] | None = Field(
        default=None, description="ERP list field key -> ERP item key -> CRM item name (null = unmapped)."
    )


class SyncSpec(_Strict):
    priority: StrictInt | None = Field(default=None, ge=1, description="Lower goes first among connections that set it.")
    actors: dict[ErpActorName, SyncActor] = Field(default_factory=dict, description="ERP actor types managed here.")
