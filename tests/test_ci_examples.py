"""examples/ci: valid YAML, the jobs the docs promise, and only `reconcile` commands and flags that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from _command_lines import problems, reconcile_invocations

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"
GITHUB = CI / ".github" / "workflows" / "reconcile.yml"
DRIFT = CI / ".github" / "workflows" / "reconcile-drift.yml"
GITLAB = CI / ".gitlab-ci.yml"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def github_scripts(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def gitlab_scripts(pipeline: dict[str, Any]) -> list[str]:
    scripts: list[str] = []
    for name, job in pipeline.items():
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                scripts += job.get(key, [])
    return scripts


def invocations(scripts: list[str]) -> list[list[str]]:
    return [args for script in scripts for args in reconcile_invocations(script)]


def test_every_reconcile_command_line_exists() -> None:
    everything = invocations(github_scripts(load(GITHUB)) + github_scripts(load(DRIFT)) + gitlab_scripts(load(GITLAB)))
    assert len(everything) >= 8
    for args in everything:
        assert problems(args) == [], args


def test_github_workflow_validates_plans_comments_uploads_and_applies_the_saved_plan() -> None:
    workflow = load(GITHUB)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    plan_job, apply_job = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    commands = [" ".join(a) for a in invocations(github_scripts({"jobs": {"plan": plan_job}}))]
    assert any(c.startswith("validate ") for c in commands)
    plan = next(c for c in commands if c.startswith("plan "))
    for flag in ("--output markdown", "--out plan.json", "--junit-xml", "--detailed-exitcode"):
        assert flag in plan
    runs = "\n".join(github_scripts({"jobs": {"plan": plan_job}}))
    assert "gh pr comment" in runs and "--body-file plan.md" in runs
    uploads = [s for s in plan_job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and "plan.json" in uploads[0]["with"]["path"]
    assert apply_job["needs"] == "plan" and "push" in apply_job["if"] and apply_job["environment"] == "production"
    assert [a[:2] for a in invocations(github_scripts({"jobs": {"apply": apply_job}}))] == [["apply", "plan.json"]]


def test_drift_checks_run_on_a_schedule_with_detailed_exit_codes() -> None:
    drift = load(DRIFT)
    triggers = drift[True] if True in drift else drift["on"]
    assert triggers["schedule"][0]["cron"]
    assert any("--detailed-exitcode" in a for a in invocations(github_scripts(drift)))
    gitlab = load(GITLAB)
    assert gitlab["drift"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert "--detailed-exitcode" in invocations(gitlab["drift"]["script"])[0]


def test_gitlab_pipeline_does_the_same() -> None:
    pipeline = load(GITLAB)
    assert pipeline["stages"] == ["validate", "plan", "apply"]
    plan = [a for a in invocations(pipeline["plan"]["script"]) if a[0] == "plan"][0]
    assert "--output" in plan and "--out" in plan and "--junit-xml" in plan
    assert "merge_requests/$CI_MERGE_REQUEST_IID/notes" in "\n".join(pipeline["plan"]["script"])
    assert pipeline["plan"]["artifacts"]["reports"]["junit"] == "connection-tests.xml"
    assert pipeline["apply"]["needs"] == ["plan"] and pipeline["apply"]["rules"][0]["when"] == "manual"
    assert any(a[:2] == ["apply", "plan.json"] for a in invocations(pipeline["apply"]["script"]))


def test_ci_files_are_not_read_as_manifests(tmp_path: Path) -> None:
    from reconciler.manifest.files import discover

    found = discover([CI.parent])
    assert all(".github" not in f.display and ".gitlab-ci" not in f.display for f in found.files)


def test_pre_commit_hook_runs_reconcile_validate(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import re
    import shutil

    from click.testing import CliRunner

    from reconciler.cli import main

    hooks = yaml.safe_load((CI.parents[1] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "reconcile-validate")
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    pattern = re.compile(hook["files"])
    assert pattern.search("manifests/erp/visma.yaml") and pattern.search("manifests/a.yml")
    assert not pattern.search("docs/guide.md") and not pattern.search("reconcile.yaml")
    words = hook["entry"].split() + hook["args"]
    assert words[0] == "reconcile" and problems(words[1:]) == []

    shutil.copytree(CI.parent, tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    ok = CliRunner().invoke(main, words[1:])
    assert ok.exit_code == 0, ok.output
    (tmp_path / "manifests" / "broken.yaml").write_text("apiVersion: erp-reconciler/v1\nkind: SyncConector\n")
    broken = CliRunner().invoke(main, words[1:])
    assert broken.exit_code == 1 and "manifests/broken.yaml:2" in broken.output
