"""Apply's cost when a small share of a large tenant changes (requests and wall time).

Starts the emulator with a generated tenant, changes every Nth connection of the
manifests (the "changed" variant for those, the "same" one for the rest), and
measures `plan` and then `apply` of those manifests, each in its own process,
with the emulator's request counter. Apply plans once and then checks
convergence; the check should re-read what apply wrote, so apply should cost
about one plan plus a few requests per change.

Usage:
  .venv/bin/python benchmarks/apply_cost.py                     # 10,000 connections, 1% changed
  .venv/bin/python benchmarks/apply_cost.py --connections 1000 --every 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from run import RECONCILE, counted, emulator, expect, target_env  # noqa: E402


def write_partly_changed(spec: generate.TenantSpec, directory: Path, every: int) -> int:
    """The "same" manifests with every `every`-th connection document taken from "changed"."""
    same = generate.manifest_documents(spec, "same")
    changed = generate.manifest_documents(spec, "changed")
    docs, count, connection = [], 0, 0
    for before, after in zip(same, changed):
        if before["kind"] != "SyncConnector":
            connection += 1
            if connection % every == 0 and before != after:
                docs.append(after)
                count += 1
                continue
        docs.append(before)
    directory.mkdir(parents=True, exist_ok=True)
    size = generate.DOCS_PER_MANIFEST_FILE
    for number, start in enumerate(range(0, len(docs), size), start=1):
        (directory / f"part-{number:03d}.yaml").write_text(generate._dump_docs(docs[start : start + size]), encoding="utf-8")
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=100, help="change every Nth connection [100: 1%%]")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="apply-cost-") as tmp:
        workdir = Path(tmp)
        spec = generate.TenantSpec.for_connections(args.connections)
        seed = generate.write_seed(spec, workdir / "seed.yaml", "all")
        manifests = workdir / "manifests"
        changes = write_partly_changed(spec, manifests, args.every)
        with emulator(workdir, seed) as emu:
            env = target_env(emu)
            flags = ["--test", "none"]
            plan = expect(counted(emu, [*RECONCILE, "plan", "-f", str(manifests), *flags], env, workdir), [0], "plan")
            apply = expect(counted(emu, [*RECONCILE, "apply", "-f", str(manifests), "--auto-approve", *flags], env, workdir),
                           [0], "apply", "The CRM matches the manifests")
    print(f"{args.connections} connections, {changes} changed")
    print(f"plan:  {plan.requests} requests, {plan.wall_s:.2f} s")
    print(f"apply: {apply.requests} requests, {apply.wall_s:.2f} s "
          f"({apply.requests - plan.requests} beyond its plan: {(apply.requests - plan.requests) / max(changes, 1):.1f} per change)")


if __name__ == "__main__":
    main()
