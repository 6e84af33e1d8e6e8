"""The PR comment the CI examples post: `plan --output markdown` stays under GitHub's comment limit."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli

GITHUB_COMMENT_LIMIT = 65_536


def big_manifests(count: int) -> str:
    docs = ["apiVersion: erp-reconciler/v1\nkind: SyncConnector\nmetadata: {name: Visma.net}\n"
            "spec: {url: https://connectors.example.com/visma}\n"]
    for i in range(count):
        docs.append(
            "apiVersion: erp-reconciler/v1\nkind: ErpConnection\n"
            f"metadata: {{name: Company {i:04d} | pipe <b>}}\n"
            f"spec:\n  connector: Visma.net\n  description: {'d' * 250}\n  scope: {{everyone: true}}\n"
            f"  config: {{CompanyId: {i}, ApiKey: demo-key-{i}, Environment: production}}\n"
        )
    return "---\n".join(docs)


def test_a_huge_plan_is_cut_to_fit_a_comment(embedded_cli: Cli, workdir: Path) -> None:
    (workdir / "big.yaml").write_text(big_manifests(400), encoding="utf-8")
    result = embedded_cli("plan", "-f", "big.yaml", "--output", "markdown", "--out", "plan.json")
    assert result.exit_code == 0, result.output[-2000:]
    comment = result.stdout
    assert len(comment) < GITHUB_COMMENT_LIMIT
    assert "were cut to keep this comment under" in comment and "see the JSON plan" in comment
    assert "401 to create" in comment  # the summary always survives
    assert "Company 0000 &#124; pipe &lt;b&gt;" in comment  # table cells escape the pipe and HTML
    assert (workdir / "plan.json").stat().st_size > GITHUB_COMMENT_LIMIT  # the full plan is in the artifact


def test_a_small_plan_is_shown_whole(embedded_cli: Cli, workdir: Path) -> None:
    result = embedded_cli("plan", "-f", "examples/", "--output", "markdown")
    assert result.exit_code == 0
    assert "were cut" not in result.stdout
    assert result.stdout.count("<details>") == 7
