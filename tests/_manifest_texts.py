"""Manifest texts several test files start from. Tests assert file:line positions in
them, so a change here moves those numbers."""

SYNC_BLOCK = """\
apiVersion: erp-reconciler/v1
kind: SyncConnector
metadata:
  name: Visma.net
spec:
  url: https://connectors.example.com/visma
"""

SYNC_FLOW = """\
apiVersion: erp-reconciler/v1
kind: SyncConnector
metadata: {name: Visma.net}
spec: {url: https://connectors.example.com/visma}
"""

# An ERP connection up to its `config:` key; the config lines follow, indented by four.
ERP_UP_TO_CONFIG = """\
apiVersion: erp-reconciler/v1
kind: ErpConnection
metadata: {name: Visma Production}
spec:
  connector: Visma.net
  scope: {everyone: true}
  config:
"""


def manifest_document(kind: str, name: str, spec: str) -> str:
    """One manifest document: `kind` named `name`, with `spec` (lines indented by two) under `spec:`."""
    return f"apiVersion: erp-reconciler/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}\n"
