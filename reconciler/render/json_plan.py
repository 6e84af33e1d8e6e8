"""The plan as JSON (`--output json`, `--out plan.json`) and its JSON schema.

The document's shape is the saved-plan model in `plan/document.py`.
"""

from __future__ import annotations


from reconciler.json_schema import schema_text
from reconciler.plan.document import JsonPlan, JsonRequest, plan_document
from reconciler.plan.model import Plan


def render_json(plan: Plan, request: JsonRequest | None = None) -> str:
    return plan_document(plan, request).model_dump_json(indent=2, by_alias=True) + "\n"


PLAN_SCHEMA_ID = "urn:erp-reconciler:schema:plan:v1"  # like the manifest schema's urn:erp-reconciler:schema:manifest:v1


def render_plan_schema() -> str:
    return schema_text(JsonPlan, PLAN_SCHEMA_ID, "erp-reconciler plan")


if __name__ == "__main__":  # regenerate: python -m reconciler.render.json_plan > schemas/plan.schema.json
    print(render_plan_schema(), end="")
