"""Before a sync connector's URL changes: would its connections still work there?

The ErpSync API reads config fields and tests config only through a registered
connector (`GetConfigurationFields` and `TestConnectionByConfig` take a connector
id), so apply registers a short-lived probe connector at the new URL, checks
every connection of the connector against the probe's fields, tests each one
that is (or will be) active with the probe, and removes the probe again. Only
when nothing fails does the real connector switch; until then its connections
keep calling the old URL. The probe is soft-deleted (the CRM keeps the row,
marked Deleted, like every deleted connector).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from reconciler.apply.mdo_lists import lists_for
from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError
from reconciler.crm.live import FieldMeta, ListItem, LiveConnector
from reconciler.plan.model import ConfigWire, StayingConnection, UrlSwitch
from reconciler.plan.values import desired_config

PROBE_SUFFIX = " (reconcile: URL check)"


async def url_switch_problems(client: CrmClient, connector: LiveConnector, new_url: str, switch: UrlSwitch) -> list[str]:
    """What would break if `connector` moved to `new_url`; empty when nothing would."""
    probe = await client.save_connector(0, connector.name + PROBE_SUFFIX, new_url)
    try:
        fields = await client.get_erp_config_fields(probe.id)
        lists = await lists_for(client, fields, switch.lists)
        problems: list[str] = []
        to_test: list[tuple[str, Mapping[str, ConfigWire]]] = []
        for connection in switch.connections:
            config, issues = _checked(connection, fields, lists)
            if issues:
                problems.append(f"ErpConnection/{connection.name}: {'; '.join(issues)}")
            elif connection.active:
                to_test.append((connection.name, config))
        results = await asyncio.gather(
            *(client.test_erp_by_config(connector_id=probe.id, config=config) for _, config in to_test)
        )
        problems += [f"ErpConnection/{name}: its connection test fails at the new URL"
                     for (name, _), ok in zip(to_test, results) if not ok]
        return problems
    finally:
        try:
            await client.delete_connector(probe.id)
        except CrmError as error:
            # Not fatal for the check; say so, so that someone removes it.
            raise CrmError("ErpSync/DeleteErpSyncConnectorEntity",
                           f"could not remove the probe connector (id {probe.id}): {error}",
                           hint="delete it in the CRM's ERP Sync settings") from None


def _checked(
    connection: StayingConnection, fields: Sequence[FieldMeta], lists: Mapping[str, Sequence[ListItem]]
) -> tuple[Mapping[str, ConfigWire], list[str]]:
    """The config a connection would have at the new URL, and what is wrong with it."""
    if connection.written is not None:
        result = desired_config(fields, connection.written, None, lists)
        return result.values, [message + (f" ({hint})" if hint else "") for _, message, hint in result.problems]
    known = {f.key for f in fields}
    issues = [f"config key '{key}' is not a field of the connector at the new URL"
              for key in sorted(connection.stored) if key not in known]
    return dict(connection.stored), issues

