"""Integer config values through `reconcile plan`: 32-bit range and the digits 0-9 only,
refused at file:line before anything is sent to the CRM."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from conftest import Cli

REFUSED = [
    ("2147483648", "'BatchSize' (Integer) must be between -2147483648 and 2147483647 (the CRM stores a 32-bit integer)"),
    ("-2147483649", "'BatchSize' (Integer) must be between -2147483648 and 2147483647"),
    ('"٢٥"', "'BatchSize' (Integer) must be written with the digits 0-9"),
    ('"２５"', "'BatchSize' (Integer) must be written with the digits 0-9"),
]


def plan_with_batch_size(cli: Cli, workdir: Path, written: str) -> Result:
    manifest = workdir / "examples" / "connections.yaml"
    original = manifest.read_text(encoding="utf-8")
    manifest.write_text(original.replace("BatchSize: 25", f"BatchSize: {written}"), encoding="utf-8")
    try:
        return cli("plan", "-f", "examples/")
    finally:
        manifest.write_text(original, encoding="utf-8")


def test_integer_config_values_out_of_range_or_not_ascii_are_refused_at_their_line(cli: Cli, workdir: Path) -> None:
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    for written, message in REFUSED:
        result = plan_with_batch_size(cli, workdir, written)
        assert result.exit_code == 1, (written, result.output)
        assert "examples/connections.yaml:87:" in result.stderr, written
        assert f"ErpConnection/Visma Sandbox: {message}" in result.stderr, result.stderr
        assert "Traceback" not in result.output

    largest = plan_with_batch_size(cli, workdir, "2147483647")
    assert largest.exit_code == 0, largest.output
    assert 'config.BatchSize: "25" → "2147483647"' in largest.stdout
