"""What sync configuration costs: a tenant whose ERP connections all manage a full
`sync` block (default 200 connections x 4 actor types x 30 fields, a list mapping
and an ERP-tab order per actor, defaults for Customer, a priority each). Measures, at each simulated
latency, the first `apply` (connections registered, sync not configured yet) and then
a no-change `plan`: HTTP requests and wall time, each in its own process against a
served emulator.

Usage:
  .venv/bin/python benchmarks/sync_cost.py                          # 200 connections, 0 and 100 ms
  .venv/bin/python benchmarks/sync_cost.py --connections 50 --latency-ms 0 --parallelism 8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from run import RECONCILE, counted, emulator, expect, target_env  # noqa: E402

URL = "https://bench.example.com/sync"
ACTORS = {"Customer": "Contact", "Supplier": "Contact", "Person": "Person", "Project": "Project"}
CRM_PREFIX = {"Contact": "contact", "Person": "person", "Project": "project"}
CLASSES = ["A", "B", "C", "D", "E"]


def seed(connections: int, fields: int, latency_ms: float) -> dict[str, Any]:
    erp_fields = [{"key": f"F{n:02d}", "type": "Text", "access": "Mandatory" if n == 1 else "Normal"}
                  for n in range(1, fields)] + [{"key": "CLASS", "type": "List", "list_name": "Classes"}]
    crm = {crm: [{"key": f"{CRM_PREFIX[crm]}/f{n:02d}"} for n in range(1, fields)]
           + [{"key": f"{CRM_PREFIX[crm]}/category", "list_name": "Category"}] for crm in CRM_PREFIX}
    return {
        "credentials": {"bearer": [generate.TOKEN]},
        "users": [{"id": 1, "login": "ADM"}],
        "lists": {"Category": [{"id": n, "name": f"Category {n}"} for n in range(1, 6)]},
        "crm_fields": crm,
        "connector_profiles": [{
            "url": URL,
            "fields": [{"key": "Host", "type": "Text"}],
            "actor_types": [{"erp": erp, "crm": crm_actor, "fields": erp_fields} for erp, crm_actor in ACTORS.items()],
            "lists": {"Classes": [{"key": k, "name": f"Class {k}"} for k in CLASSES]},
        }],
        "connectors": [{"id": 1, "name": "Bench", "url": URL}],
        "erp_connections": [{"name": name(i), "connector": "Bench", "config": {"Host": "h"}} for i in range(connections)],
        "faults": {"latency_ms": latency_ms},
    }


def name(i: int) -> str:
    return f"Sync {i:04d}"


def sync_block(i: int, fields: int) -> dict[str, Any]:
    actors: dict[str, Any] = {}
    for erp, crm in ACTORS.items():
        prefix = CRM_PREFIX[crm]
        # Every connection maps the same CRM fields, so none is one way to the CRM: the CRM
        # refuses toCrm on a field another connection maps (AlreadyMapped).
        mapped = {f"F{n:02d}": {"crmField": f"{prefix}/f{n:02d}", "direction": "toErp" if n % 3 else "both"}
                  for n in range(1, fields * 2 // 3)}
        shown = {f"F{n:02d}": {"erpTab": True} for n in range(fields * 2 // 3, fields)}
        actor: dict[str, Any] = {
            "enabled": True,
            "fields": {**mapped, **shown, "CLASS": {"crmField": f"{prefix}/category", "direction": "both"}},
            # The first two ERP-tab fields swapped: one move per actor on the first apply.
            "erpTabOrder": [*list(shown)[1::-1], *list(shown)[2:]],
            "lists": {"CLASS": {k: f"Category {n}" for n, k in enumerate(CLASSES, start=1)}},
        }
        if erp == "Customer":
            actor["defaults"] = {"F02": {"value": "x", "askUser": True}}
        actors[erp] = actor
    return {"priority": i + 1, "actors": actors}


def manifests(connections: int, fields: int) -> str:
    docs = [{"apiVersion": "erp-reconciler/v1", "kind": "SyncConnector", "metadata": {"name": "Bench"},
             "spec": {"url": URL}}]
    docs += [{"apiVersion": "erp-reconciler/v1", "kind": "ErpConnection", "metadata": {"name": name(i)},
              "spec": {"connector": "Bench", "active": False, "scope": {"everyone": True}, "config": {"Host": "h"},
                       "sync": sync_block(i, fields)}} for i in range(connections)]
    return yaml.safe_dump_all(docs, sort_keys=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--fields", type=int, default=30, help="ERP fields per actor type")
    parser.add_argument("--latency-ms", type=float, action="append", help="simulated latency per request [0, 100]")
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args(argv)
    print("| latency | apply: requests | apply: wall | no-change plan: requests | plan: wall |")
    print("|---:|---:|---:|---:|---:|")
    for latency in args.latency_ms or [0.0, 100.0]:
        with tempfile.TemporaryDirectory(prefix="sync-cost-") as tmp:
            workdir = Path(tmp)
            (workdir / "seed.yaml").write_text(yaml.safe_dump(seed(args.connections, args.fields, latency)))
            (workdir / "manifests").mkdir()
            (workdir / "manifests" / "sync.yaml").write_text(manifests(args.connections, args.fields))
            with emulator(workdir, workdir / "seed.yaml") as emu:
                env = target_env(emu)
                flags = ["--test", "none", "--parallelism", str(args.parallelism)]
                apply = expect(counted(emu, [*RECONCILE, "apply", "-f", "manifests/", "--auto-approve", *flags],
                                       env, workdir), [0], "apply", "The CRM matches the manifests")
                plan = expect(counted(emu, [*RECONCILE, "plan", "-f", "manifests/", "--detailed-exitcode", *flags],
                                      env, workdir), [0], "plan", "No changes")
            print(f"| {latency:.0f} ms | {apply.requests:,} | {apply.wall_s:.1f} s | {plan.requests:,} | {plan.wall_s:.1f} s |",
                  flush=True)


if __name__ == "__main__":
    main()
