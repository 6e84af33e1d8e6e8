"""A canary secret, from ${env:…} and as a literal Password-field value, appears in no
output of validate, plan or apply, in no saved plan or report, on success or failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Cli

ENV_CANARY = "demo-canary-env-8c1e55"  # starts with demo- so the emulator's test passes
LITERAL_CANARY = "demo-canary-literal-31b7"
ROTATED_CANARY = "demo-canary-rotated-92aa"
CANARIES = (ENV_CANARY, LITERAL_CANARY, ROTATED_CANARY, "canary-env", "canary-literal", "canary-rotated")


@pytest.fixture
def secret_manifests(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    text = text.replace("${file:secrets/visma-production-api-key.txt}", "${env:VISMA_API_KEY}")
    text = text.replace("${file:secrets/tripletex-consumer-token.txt}", LITERAL_CANARY)
    manifest.write_text(text)
    monkeypatch.setenv("VISMA_API_KEY", ENV_CANARY)
    return manifest


def assert_clean(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text


def run(cli: Cli, *args: str) -> str:
    result = cli(*args)
    return result.stdout + result.stderr


@pytest.mark.slow
def test_canary_never_appears_in_any_output(cli: Cli, workdir: Path, secret_manifests: Path, monkeypatch):
    outputs = [
        run(cli, "validate", "-f", "examples/"),
        run(cli, "validate", "-f", "examples/", "--output", "json"),
        run(cli, "plan", "-f", "examples/", "--out", "plan.json"),
        run(cli, "plan", "-f", "examples/", "--output", "json"),
        run(cli, "plan", "-f", "examples/", "--output", "markdown"),
        run(cli, "apply", "plan.json", "--report", "report.json"),
        run(cli, "plan", "-f", "examples/", "--test", "all", "--show-unchanged"),
    ]
    assert "Apply: 7 done" in outputs[5]
    # The secret rotates: the plan says a sensitive value changed, never which.
    monkeypatch.setenv("VISMA_API_KEY", ROTATED_CANARY)
    rotated = run(cli, "plan", "-f", "examples/")
    assert "config.ApiKey: changed (sensitive), from ${env:VISMA_API_KEY}" in rotated
    outputs += [rotated, run(cli, "plan", "-f", "examples/", "--output", "json"), run(cli, "plan", "-f", "examples/", "--output", "markdown")]
    # Error paths: a failing connection test, a stale saved plan, a manifest error next to the secret.
    monkeypatch.setenv("VISMA_API_KEY", "canary-env-rejected")
    outputs.append(run(cli, "apply", "-f", "examples/", "--auto-approve", "--report", "failed-report.json"))
    outputs.append(run(cli, "plan", "-f", "examples/", "--out", "stale.json"))
    monkeypatch.setenv("VISMA_API_KEY", ENV_CANARY)
    outputs.append(run(cli, "apply", "stale.json"))
    secret_manifests.write_text(secret_manifests.read_text().replace("CompanyId: 12345", "CompanyId: twelve"))
    outputs += [run(cli, "plan", "-f", "examples/"), run(cli, "apply", "-f", "examples/", "--auto-approve")]
    files = [p.read_text() for p in workdir.glob("*.json")]
    assert len(files) == 4
    assert_clean(*outputs, *files)
