"""Secret references in config values: resolution, escaping, and errors that never show a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from _manifest_texts import ERP_UP_TO_CONFIG, SYNC_FLOW
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.manifest.loader import load_desired
from reconciler.secrets import Sensitive

CANARY = "canary-7f3a-SECRET-VALUE"

HEAD = SYNC_FLOW + "---\n" + ERP_UP_TO_CONFIG
FIRST_CONFIG_LINE = 13


def manifest(tmp_path: Path, *config_lines: str, name: str = "a.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + "".join(f"    {line}\n" for line in config_lines), encoding="utf-8")
    return path


def config(path: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    return dict(load_desired([path], env=env or {}).resources[1].config)


def problems(path: Path, env: dict[str, str] | None = None) -> list[Diagnostic]:
    with pytest.raises(DiagnosticError) as caught:
        load_desired([path], env=env or {})
    return list(caught.value.diagnostics)


def only(found: list[Diagnostic]) -> Diagnostic:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_env_reference_resolves_to_a_sensitive_value(tmp_path: Path) -> None:
    values = config(manifest(tmp_path, "ApiKey: ${env:API_KEY}", "Plain: text"), {"API_KEY": CANARY})
    secret = values["ApiKey"]
    assert isinstance(secret, Sensitive)
    assert secret.reveal() == CANARY
    assert secret.reference == "${env:API_KEY}"
    assert CANARY not in f"{secret} {secret!r} {values}"
    assert values["Plain"] == "text"


def test_reference_inside_a_longer_string(tmp_path: Path) -> None:
    values = config(
        manifest(tmp_path, "Auth: 'Bearer ${env:TOKEN} for ${env:USER_NAME}'"),
        {"TOKEN": CANARY, "USER_NAME": "bob"},
    )
    secret = values["Auth"]
    assert isinstance(secret, Sensitive)
    assert secret.reveal() == f"Bearer {CANARY} for bob"
    assert secret.reference == "Bearer ${env:TOKEN} for ${env:USER_NAME}"


def test_file_reference_is_relative_to_the_manifest_and_loses_one_newline(tmp_path: Path) -> None:
    (tmp_path / "conf" / "secrets").mkdir(parents=True)
    (tmp_path / "conf" / "secrets" / "key.txt").write_text(CANARY + "\n\n")
    (tmp_path / "conf" / "secrets" / "crlf.txt").write_bytes(CANARY.encode() + b"\r\n")
    path = manifest(tmp_path, "Key: ${file:secrets/key.txt}", "Crlf: ${file:secrets/crlf.txt}", name="conf/a.yaml")
    values = config(path)
    assert isinstance(values["Key"], Sensitive) and values["Key"].reveal() == CANARY + "\n"
    assert isinstance(values["Crlf"], Sensitive) and values["Crlf"].reveal() == CANARY


def test_double_dollar_escapes_a_literal(tmp_path: Path) -> None:
    values = config(manifest(tmp_path, "Template: 'Hello $${env:NAME} and $$5'"))
    assert values["Template"] == "Hello ${env:NAME} and $$5"
    assert type(values["Template"]) is str


def test_missing_env_variable_names_the_reference_and_location(tmp_path: Path) -> None:
    found = only(problems(manifest(tmp_path, "Other: x", "ApiKey: ${env:VISMA_API_KEY}")))
    assert found.message == (
        "config value 'ApiKey': environment variable VISMA_API_KEY is not set (from '${env:VISMA_API_KEY}')"
    )
    assert found.location is not None
    assert (found.location.line, found.location.column) == (FIRST_CONFIG_LINE + 1, 5)
    assert found.resource == "ErpConnection/Visma Production"


def test_misspelt_env_variable_suggests_a_set_one_without_its_value(tmp_path: Path) -> None:
    found = only(problems(manifest(tmp_path, "ApiKey: ${env:VISMA_APIKEY}"), {"VISMA_API_KEY": CANARY}))
    assert found.hint == "did you mean 'VISMA_API_KEY'?"
    assert CANARY not in str(found)


def test_empty_env_variable_is_an_error(tmp_path: Path) -> None:
    found = only(problems(manifest(tmp_path, "ApiKey: ${env:KEY}"), {"KEY": ""}))
    assert "environment variable KEY is empty" in found.message


def test_missing_and_directory_secret_files(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    found = problems(manifest(tmp_path, "A: ${file:nope.txt}", "B: ${file:adir}"))
    assert [d.message for d in found] == [
        f"config value 'A': secret file does not exist: {tmp_path / 'nope.txt'} (from '${{file:nope.txt}}')",
        f"config value 'B': secret file is a directory: {tmp_path / 'adir'} (from '${{file:adir}}')",
    ]
    assert [d.location.line for d in found if d.location] == [FIRST_CONFIG_LINE, FIRST_CONFIG_LINE + 1]


def test_binary_secret_file_error_does_not_show_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "key.bin").write_bytes(b"\xff\xfe" + CANARY.encode())
    found = only(problems(manifest(tmp_path, "A: ${file:key.bin}")))
    assert "secret file is not valid UTF-8" in found.message
    assert "0xFF" not in found.message and CANARY not in str(found)


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        ("${enb:KEY}", "unknown reference '${enb:KEY}'", "did you mean '${env:KEY}'?"),
        ("${KEY}", "unknown reference '${KEY}'", "use ${env:NAME} or ${file:path}; write '$${' for a literal '${'"),
        ("${env:KEY", "unterminated reference '${env:KEY'", "close it with '}', or write '$${' for a literal '${'"),
        ("${env:1KEY}", "invalid environment variable name in '${env:1KEY}'",
         "names are letters, digits and '_', not starting with a digit"),
    ],
)
def test_malformed_references(tmp_path: Path, value: str, message: str, hint: str) -> None:
    found = only(problems(manifest(tmp_path, f"A: '{value}'")))
    assert found.message == f"config value 'A': {message}"
    assert found.hint == hint


def test_reference_errors_are_reported_along_with_other_errors(tmp_path: Path) -> None:
    path = manifest(tmp_path, "A: ${env:MISSING}", "B: [1]")
    messages = [d.message for d in problems(path)]
    assert any("MISSING is not set" in m for m in messages)
    assert any("config value 'B' must be" in m for m in messages)
