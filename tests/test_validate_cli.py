"""`reconcile validate` and `reconcile schema` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from _manifest_texts import ERP_UP_TO_CONFIG, SYNC_FLOW
from conftest import Cli
from reconciler.cli import main
from reconciler.manifest.schema import manifest_json_schema_text

ROOT = Path(__file__).resolve().parent.parent
CANARY = "canary-91c2-DO-NOT-PRINT"

SYNC = SYNC_FLOW
ERP_WITH_SECRET = ERP_UP_TO_CONFIG + """\
    ApiKey: ${env:CANARY_KEY}
    Header: 'Bearer ${env:CANARY_KEY}'
"""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def everything(result: Result) -> str:
    return result.stdout + result.stderr


def test_examples_validate() -> None:
    result = run("validate", "-f", str(ROOT / "examples"))
    assert result.exit_code == 0, everything(result)
    assert result.stdout == (
        "Valid: 7 resources (2 SyncConnector, 3 ErpConnection, 2 QuoteConnection) in 1 file\n"
    )


def test_help_says_what_validate_checks_and_what_is_left_to_plan() -> None:
    result = run("validate", "--help")
    text = " ".join(result.stdout.split())
    assert "Check manifests without contacting the CRM." in text
    assert ("the sync rules that need no CRM (a direction needs crmField, mandatory defaults, "
            "erpTabOrder and priority duplicates, no toCrm on a CRM field another connection maps); "
            "plan checks the rest against the CRM.") in text


def test_repeated_f_and_json_output_when_valid(tmp_path: Path) -> None:
    (tmp_path / "sync.yaml").write_text(SYNC)
    (tmp_path / "erp.yml").write_text(ERP_WITH_SECRET)
    result = run("validate", "-f", str(tmp_path / "sync.yaml"), "-f", str(tmp_path / "erp.yml"),
                 "--output", "json", env={"CANARY_KEY": CANARY})
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "resources": 2, "errors": []}


def test_errors_one_per_line_with_a_count(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SYNC.replace("url:", "uri:") + "---\nkind: ErpConection\n")
    result = run("validate", "-f", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:4:1: SyncConnector/Visma.net: missing required key 'url' in spec",
        f"{path}:4:8: SyncConnector/Visma.net: unknown key 'uri' in spec (did you mean 'url'?)",
        f"{path}:6:1: ErpConection/(unnamed): missing required key 'apiVersion' (add 'apiVersion: erp-reconciler/v1')",
        f"{path}:6:1: ErpConection/(unnamed): unknown kind 'ErpConection' (did you mean 'ErpConnection'?)",
        "Invalid: 4 errors in 1 file",
    ]


def test_errors_as_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SYNC.replace("url:", "uri:"))
    result = run("validate", "-f", str(path), "-o", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["errors"][1] == {
        "file": str(path), "line": 4, "column": 8, "resource": "SyncConnector/Visma.net",
        "message": "unknown key 'uri' in spec", "hint": "did you mean 'url'?",
    }


def test_missing_f_is_a_usage_error_with_exit_1_not_2() -> None:
    # 2 means "changes" under plan --detailed-exitcode; a usage error must never read as that.
    result = run("validate")
    assert result.exit_code == 1
    assert "Missing option '-f'" in result.stderr


def test_missing_path_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = run("validate", "-f", str(tmp_path / "absent"))
    assert result.exit_code == 1
    assert "no such file or directory" in result.stderr
    assert "Traceback" not in everything(result)


def test_unexpected_failure_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError(CANARY)

    monkeypatch.setattr("reconciler.commands.validate.load_desired", explode)
    result = run("validate", "-f", str(tmp_path))
    assert result.exit_code == 1
    assert "internal error (KeyError)" in result.stderr
    assert CANARY not in everything(result) and "Traceback" not in everything(result)


@pytest.mark.parametrize("output", ["text", "json"])
@pytest.mark.parametrize(
    "extra",
    [
        "",  # valid
        "    Broken: [1, 2]\n",  # an error in the same resource as the secret
        "    Other: ${env:NOT_SET}\n",  # a reference error next to the secret
        "  conector: typo\n",  # an unknown key in the same resource
    ],
)
def test_canary_secret_never_appears_in_validate_output(tmp_path: Path, output: str, extra: str) -> None:
    text = SYNC + "---\n" + ERP_WITH_SECRET + extra
    if extra.startswith("  conector"):
        text = SYNC + "---\n" + ERP_WITH_SECRET.replace("  scope:", extra + "  scope:")
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(SYNC)  # a duplicate name: errors in another file too
    for target in (tmp_path / "a.yaml", tmp_path):
        for strict in ((), ("--require-secrets",)):
            result = run("validate", "-f", str(target), "-o", output, *strict, env={"CANARY_KEY": CANARY})
            assert CANARY not in everything(result)
            assert "Traceback" not in everything(result)
    valid_run = run("validate", "-f", str(tmp_path / "a.yaml"), "-o", output, "--require-secrets",
                    env={"CANARY_KEY": CANARY})
    assert valid_run.exit_code == (0 if extra == "" else 1)


def test_schema_command_prints_the_committed_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    committed = (ROOT / "schemas" / "manifest.schema.json").read_text(encoding="utf-8")
    assert result.stdout == committed, (
        "schemas/manifest.schema.json is stale; regenerate it with: "
        "reconcile schema > schemas/manifest.schema.json"
    )
    assert result.stdout == manifest_json_schema_text()


def test_validate_works_without_the_secrets_and_says_which_are_missing(tmp_path: Path) -> None:
    # A laptop or a pre-commit hook has no production secrets: validate checks everything else.
    (tmp_path / "a.yaml").write_text(SYNC + "---\n" + ERP_WITH_SECRET.replace(
        "    Header: 'Bearer ${env:CANARY_KEY}'\n", "    Token: ${file:absent-token.txt}\n"))
    result = run("validate", "-f", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Valid: 2 resources")
    notes = result.stderr.splitlines()
    assert notes[0].startswith(f"note: {tmp_path / 'a.yaml'}:13:5: ErpConnection/Visma Production: config value "
                               "'ApiKey': environment variable CANARY_KEY is not set")
    assert "absent-token.txt" in notes[1] and notes[1].endswith("plan and apply refuse it")
    as_json = json.loads(run("validate", "-f", str(tmp_path), "-o", "json").stdout)
    assert as_json["valid"] is True and [n["line"] for n in as_json["notes"]] == [13, 14]

    strict = run("validate", "-f", str(tmp_path), "--require-secrets")
    assert strict.exit_code == 1
    assert strict.stderr.splitlines()[-1] == "Invalid: 2 errors in 1 file"


def test_validate_still_refuses_a_broken_secret_file(tmp_path: Path) -> None:
    (tmp_path / "token-dir").mkdir()  # exists, but is no file: not a secret that is merely absent
    (tmp_path / "a.yaml").write_text(SYNC + "---\n" + ERP_WITH_SECRET.replace("${env:CANARY_KEY}", "${file:token-dir}"))
    result = run("validate", "-f", str(tmp_path))
    assert result.exit_code == 1


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=["plan", "apply"])
def test_plan_and_apply_refuse_a_missing_secret_with_file_line_before_any_request(
    http_cli: Cli, command: tuple[str, ...]
) -> None:
    manifest = Path("examples/connections.yaml")
    manifest.write_text(manifest.read_text().replace("${file:secrets/visma-production-api-key.txt}", "${env:UNSET_KEY}"))
    assert http_cli.server is not None
    http_cli.server.reset_requests()
    result = http_cli(command[0], "-f", "examples/", *command[1:])
    assert result.exit_code == 1
    assert "examples/connections.yaml:32:5: ErpConnection/Visma Production: config value 'ApiKey': " \
           "environment variable UNSET_KEY is not set" in result.stderr
    assert http_cli.server.request_total() == 0
