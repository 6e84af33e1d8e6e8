"""`reconcile plan` on several targets, end to end against the multi-tenant emulator over real HTTP:
each target its own section, one summary, one tenant failing never stops the others, the worst exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _tenants import Tenants, reconcile, served_tenants, token_env

pytestmark = pytest.mark.slow

NAMES = {"customer-a": "Cust10001", "customer-b": "Cust10002", "customer-c": "Cust10003"}


def test_one_tenant_with_bad_credentials_fails_alone_and_the_summary_names_it(tenants: Tenants) -> None:
    env = {**token_env(*NAMES), "TOKEN_CUSTOMER_B": "not-the-token"}
    # customer-a is already applied: it has nothing to change; customer-c still has everything to create.
    assert reconcile("apply", "-f", "examples/", "--target", "customer-a", "--auto-approve", env=env).exit_code == 0

    result = reconcile("plan", "-f", "examples/", "--all-targets", "--detailed-exitcode", env=env)

    assert result.exit_code == 1
    out = result.output
    sections = [out.index(f"━━ target {name} ") for name in NAMES]
    assert sections == sorted(sections)
    a, b, c = (out[start:end] for start, end in zip(sections, [*sections[1:], len(out)]))
    assert "No changes." in a
    assert "HTTP 401" in b and "TOKEN_CUSTOMER_B" in b and "not-the-token" not in out
    assert "Plan: 7 to create" in c
    summary = out[out.index("Summary of 3 target(s)"):]
    assert [line.split()[:2] for line in summary.splitlines() if line.strip().startswith("customer-")] == [
        ["customer-a", "no-changes"], ["customer-b", "error"], ["customer-c", "changes"]]
    assert "Exit 1: 1 target(s) failed: customer-b." in summary


def test_drift_exits_2_with_detailed_exitcode_and_names_the_drifted_targets(tenants: Tenants) -> None:
    env = token_env(*NAMES)
    assert reconcile("apply", "-f", "examples/", "--target", "customer-b", "--auto-approve", env=env).exit_code == 0

    result = reconcile("plan", "-f", "examples/", "--target", "customer-*", "--detailed-exitcode", env=env)

    assert result.exit_code == 2, result.output
    assert "Exit 2: 2 target(s) with changes: customer-a, customer-c." in result.output
    quiet = reconcile("plan", "-f", "examples/", "--target", "customer-b", "--target", "customer-b",
                      "--detailed-exitcode", env=env)
    assert quiet.exit_code == 0 and "Exit 0: no changes in 1 target(s)." in quiet.output


def test_json_has_one_object_per_target_with_its_plan_or_its_errors(tenants: Tenants) -> None:
    env = token_env("customer-a", "customer-c")  # customer-b's variable is not set

    result = reconcile("plan", "-f", "examples/", "--target", "customer-a", "--target", "customer-b",
                       "--output", "json", env=env)

    assert result.exit_code == 1
    document = json.loads(result.stdout)
    a, b = document["targets"]
    assert (a["name"], a["status"], a["counts"]["create"], a["url"]) == (
        "customer-a", "changes", 7, tenants.tenant_url("Cust10001"))
    assert a["plan"]["summary"]["create"] == 7
    assert (b["name"], b["status"], b["plan"]) == ("customer-b", "error", None)
    assert "TOKEN_CUSTOMER_B" in b["errors"][0] and "is not set" in b["errors"][0]


def test_each_tenant_is_asked_only_about_itself(tenants: Tenants) -> None:
    env = token_env(*NAMES)
    assert reconcile("plan", "-f", "examples/", "--target", "customer-a", "--target", "customer-c",
                     env=env).exit_code == 0
    assert tenants.requests("Cust10002") == 0
    assert tenants.requests("Cust10001") == tenants.requests("Cust10003") > 0


def test_a_target_pattern_that_matches_nothing_is_one_clear_error(tenants: Tenants) -> None:
    result = reconcile("plan", "-f", "examples/", "--target", "custmer-*", "--target", "customer-a",
                       env=token_env(*NAMES))
    assert result.exit_code == 1
    assert "error: reconcile.yaml:1:1: --target 'custmer-*' matches no target" in result.output
    assert "Traceback" not in result.output


def test_several_targets_refuse_out_with_a_hint(tenants: Tenants) -> None:
    result = reconcile("plan", "-f", "examples/", "--all-targets", "--out", "plan.json", env=token_env(*NAMES))
    assert result.exit_code == 1
    assert "--out works with one target, and several are given" in result.output


CANARY_TOKEN = "canary-fleet-token-7c1e"


def test_no_output_of_a_multi_target_run_holds_a_credential_or_a_secret_value(workdir: Path, tmp_path: Path) -> None:
    overrides = {c: {"credentials": {"bearer": [CANARY_TOKEN]}} for c in NAMES.values()}
    secrets = [p.read_text(encoding="utf-8").strip() for p in (workdir / "examples" / "secrets").glob("*.txt")]
    with served_tenants(tmp_path / "canary", 3, overrides) as served:
        (workdir / "reconcile.yaml").write_text(served.project_yaml(NAMES), encoding="utf-8")
        env = token_env(*NAMES, token=CANARY_TOKEN)
        outputs = [reconcile("plan", "-f", "examples/", "--all-targets", "-o", output, env=env).output
                   for output in ("text", "json", "markdown")]
        (workdir / "plans.json").write_text(outputs[1], encoding="utf-8")
        outputs.append(reconcile("summarize", "plans.json", "-o", "markdown", env={}).output)
        outputs.append(reconcile("apply", "-f", "examples/", "--all-targets", "--auto-approve", env=env).output)
        outputs.append(reconcile("doctor", "--all-targets", "-o", "json", env=env).output)
        outputs.append(reconcile("targets", "-o", "json", env=env).output)
    assert "Plan: 7 to create" in outputs[0] and "applied to customer-c" in outputs[4]
    everything = "\n".join(outputs)
    for secret in [CANARY_TOKEN, *secrets]:
        assert secret not in everything


def test_a_tenant_whose_server_is_down_fails_alone(tenants: Tenants, workdir: Path) -> None:
    project = tenants.project_yaml({"customer-a": "Cust10001"})
    project += "  gone:\n    url: http://127.0.0.1:9/Cust77777/\n    credentials: {token: TOKEN_CUSTOMER_A}\n"
    (workdir / "reconcile.yaml").write_text(project, encoding="utf-8")

    result = reconcile("plan", "-f", "examples/", "--all-targets", env=token_env("customer-a"))

    assert result.exit_code == 1
    gone = result.output[result.output.index("━━ target gone "):]
    assert "ConnectError reaching http://127.0.0.1:9/Cust77777/" in gone
    assert "Plan: 7 to create" in result.output[:result.output.index("━━ target gone ")]
    assert "Exit 1: 1 target(s) failed: gone." in result.output
