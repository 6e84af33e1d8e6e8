"""examples/ci: valid YAML, the jobs the docs promise, and only `reconcile` commands and flags that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from _command_lines import problems, reconcile_invocations

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"
GITHUB = CI / ".github" / "workflows" / "reconcile.yml"
DRIFT = CI / ".github" / "workflows" / "reconcile-drift.yml"
FLEET = CI / ".github" / "workflows" / "reconcile-fleet.yml"
GITLAB_FLEET = CI / ".gitlab-ci-fleet.yml"
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
    everything = invocations(github_scripts(load(GITHUB)) + github_scripts(load(DRIFT)) + github_scripts(load(FLEET))
                             + gitlab_scripts(load(GITLAB)) + gitlab_scripts(load(GITLAB_FLEET)))
    assert len(everything) >= 12
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
    assert "gh api" in runs and "cat plan.md" in runs
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
    # A laptop without the production secrets: the hook still passes.
    manifest = tmp_path / "manifests" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("${file:secrets/visma-production-api-key.txt}", "${env:NOT_ON_THIS_LAPTOP}"))
    shutil.rmtree(tmp_path / "manifests" / "secrets")
    monkeypatch.delenv("NOT_ON_THIS_LAPTOP", raising=False)
    offline = CliRunner().invoke(main, words[1:])
    assert offline.exit_code == 0, offline.output
    assert "NOT_ON_THIS_LAPTOP is not set" in offline.stderr
    (tmp_path / "manifests" / "broken.yaml").write_text("apiVersion: erp-reconciler/v1\nkind: SyncConector\n")
    broken = CliRunner().invoke(main, words[1:])
    assert broken.exit_code == 1 and "manifests/broken.yaml:2" in broken.output


PLACEHOLDER_REPO = "https://github.com/YOUR-ORG/erp-reconciler"
INSTALL = f"erp-reconciler @ git+{PLACEHOLDER_REPO}@COMMIT_SHA"


def install_values() -> list[str]:
    github = load(GITHUB)["env"]["RECONCILE_INSTALL"]
    drift = load(DRIFT)["jobs"]["drift"]["env"]["RECONCILE_INSTALL"]
    gitlab = load(GITLAB)["variables"]["RECONCILE_INSTALL"]
    return [github, drift, gitlab]


def test_templates_install_from_the_repository_with_one_marked_placeholder() -> None:
    assert install_values() == [INSTALL] * 3
    for path in (GITHUB, DRIFT, GITLAB):
        text = path.read_text(encoding="utf-8")
        assert "pip install erp-reconciler" not in text  # not published on PyPI
        assert "EDIT RECONCILE_INSTALL" in text
    scripts = github_scripts(load(GITHUB)) + github_scripts(load(DRIFT)) + load(GITLAB)["default"]["before_script"]
    installs = [line for script in scripts for line in script.splitlines() if "pip install" in line]
    assert len(installs) == 4 and all(line.endswith('"$RECONCILE_INSTALL"') for line in installs)


@pytest.mark.slow
def test_the_install_line_works_from_a_clean_checkout(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    root = CI.parents[1]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(root), str(clone)], check=True, timeout=120)
    commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    # file://localhost/…: older pip rejects a file URL without a host in a "name @ url" requirement.
    spec = INSTALL.replace(PLACEHOLDER_REPO, f"file://localhost{clone}").replace("COMMIT_SHA", commit)
    target = tmp_path / "installed"
    # The dependencies are this environment's; what is tested is that the package builds
    # from the pinned commit alone and runs (its data files included).
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), spec],
                   check=True, timeout=300, capture_output=True)
    work = tmp_path / "work"
    shutil.copytree(root / "examples", work / "examples", ignore=shutil.ignore_patterns("ci"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPEROFFICE_", "RECONCILE_"))}
    env["PYTHONPATH"] = str(target)
    where = subprocess.run([sys.executable, "-c", "import reconciler; print(reconciler.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(target))
    plan = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", "examples/"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert plan.returncode == 0, plan.stderr
    assert "7 to create" in plan.stdout


def test_github_plans_run_per_pull_request_and_applies_one_at_a_time_per_target() -> None:
    workflow = load(GITHUB)
    assert "concurrency" not in workflow  # a workflow-wide group made pull requests cancel each other's plans
    plan, apply = workflow["jobs"]["plan"]["concurrency"], workflow["jobs"]["apply"]["concurrency"]
    assert "github.event.pull_request.number" in plan["group"]
    assert apply["group"] == f"reconcile-apply-{workflow['env']['RECONCILE_TARGET']}"
    assert apply["cancel-in-progress"] is False


def test_plan_comments_carry_a_marker_and_update_their_own_earlier_comment() -> None:
    marker = "<!-- erp-reconciler plan -->"
    github = "\n".join(github_scripts({"jobs": {"plan": load(GITHUB)["jobs"]["plan"]}}))
    assert marker in github and "--method PATCH" in github and 'startswith(\\"$marker\\")' in github
    gitlab = "\n".join(load(GITLAB)["plan"]["script"])
    assert marker in gitlab and "startswith($m)" in gitlab and "method=PUT" in gitlab


def test_gitlab_applies_one_at_a_time_per_target() -> None:
    pipeline = load(GITLAB)
    assert pipeline["apply"]["resource_group"] == pipeline["variables"]["RECONCILE_TARGET"]


def test_pre_commit_docs_pin_a_commit_not_a_missing_tag() -> None:
    root = CI.parents[1]
    for path in (root / ".pre-commit-hooks.yaml", root / "docs" / "guide.md"):
        text = path.read_text(encoding="utf-8")
        assert "rev: v0.1.0" not in text and "rev: <full commit SHA>" in text
    tags = subprocess_tags(root)
    assert tags == [] or all(t.startswith("v") for t in tags)


def subprocess_tags(root: Path) -> list[str]:
    import subprocess

    result = subprocess.run(["git", "-C", str(root), "tag", "--list"], capture_output=True, text=True)
    return result.stdout.split()


def test_the_fleet_workflow_plans_each_target_in_a_matrix_and_merges_the_json_plans() -> None:
    workflow = load(FLEET)
    targets, plan, summary = (workflow["jobs"][name] for name in ("targets", "plan", "summary"))
    assert [a for a in invocations(github_scripts({"jobs": {"t": targets}})) if a[0] == "targets"] == [
        ["targets", "--output", "json"]]
    assert plan["needs"] == "targets" and plan["strategy"]["fail-fast"] is False
    assert plan["strategy"]["matrix"] == "${{ fromJSON(needs.targets.outputs.matrix) }}"
    assert plan["env"]["RECONCILE_TARGET"] == "${{ matrix.target }}"
    planned = next(a for a in invocations(github_scripts({"jobs": {"p": plan}})) if a[0] == "plan")
    assert planned[planned.index("--output") + 1] == "json" and "--target" in planned
    upload = next(s for s in plan["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "plan-${{ matrix.target }}"
    assert summary["needs"] == "plan" and summary["if"] == "always()"
    download = next(s for s in summary["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact"))
    assert download["with"]["pattern"] == "plan-*" and download["with"]["merge-multiple"] is True
    merged = [a for a in invocations(github_scripts({"jobs": {"s": summary}})) if a[0] == "summarize"]
    assert merged and all(a[1] == "plans/*.json" for a in merged)
    assert "--detailed-exitcode" in merged[0] and "markdown" in merged[0]
    assert workflow["env"]["RECONCILE_INSTALL"] == INSTALL


def test_the_gitlab_fleet_pipeline_plans_a_matrix_of_targets_and_merges_the_plans() -> None:
    pipeline = load(GITLAB_FLEET)
    assert pipeline["stages"] == ["plan", "summary"]
    plan, summary = pipeline["plan"], pipeline["summary"]
    assert list(plan["parallel"]["matrix"][0]) == ["TARGET"]
    planned = next(a for a in invocations(plan["script"]) if a[0] == "plan")
    assert '--target' in planned and planned[planned.index("--output") + 1] == "json"
    assert plan["artifacts"]["paths"] == ["plans/"] and plan["artifacts"]["when"] == "always"
    assert summary["needs"] == ["plan"] and summary["when"] == "always"
    assert all(a[1] == "plans/*.json" for a in invocations(summary["script"]) if a[0] == "summarize")
    assert pipeline["variables"]["RECONCILE_INSTALL"] == INSTALL
