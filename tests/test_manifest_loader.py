"""load_desired: valid manifests, and each validation error with its message and location."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path

import pytest

from _manifest_texts import SYNC_BLOCK
from reconciler.diagnostics import Diagnostic, DiagnosticError, Location
from reconciler.manifest.loader import load_desired

SYNC = SYNC_BLOCK

ERP = """\
apiVersion: erp-reconciler/v1
kind: ErpConnection
metadata:
  name: Visma Production
spec:
  connector: Visma.net
  scope:
    everyone: true
  config:
    CompanyId: 12345
"""

QUOTE = """\
apiVersion: erp-reconciler/v1
kind: QuoteConnection
metadata:
  name: Visma Quotes
spec:
  connector: Visma.Quote
  erpConnection: Visma Production
  scope: {groups: [Sales]}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(*paths: Path, env: dict[str, str] | None = None) -> list[Diagnostic]:
    with pytest.raises(DiagnosticError) as caught:
        load_desired(list(paths), env=env or {})
    return list(caught.value.diagnostics)


def only(found: list[Diagnostic]) -> Diagnostic:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_valid_manifests_load_with_locations(tmp_path: Path) -> None:
    path = write(tmp_path, "all.yaml", SYNC + "---\n" + ERP + "---\n" + QUOTE)
    desired = load_desired([path], env={})
    assert [r.ref for r in desired.resources] == [
        "SyncConnector/Visma.net",
        "ErpConnection/Visma Production",
        "QuoteConnection/Visma Quotes",
    ]
    erp = desired.resources[1]
    shown = str(path.resolve())
    assert erp.location == Location(shown, 8, 1)
    assert erp.locate("spec", "config", "CompanyId") == Location(shown, 17, 5)
    assert erp.locate("spec", "config", "NotThere") == Location(shown, 16, 3)
    assert erp.config == {"CompanyId": 12345}
    assert desired.files == (shown,)
    assert len(desired.digest) == 64


def test_dates_stay_dates_and_yaml_1_1_booleans_stay_strings(tmp_path: Path) -> None:
    text = ERP + "    Start: 2026-01-01\n    Country: NO\n    Sync: yes\n    Number: 0123\n    Time: 12:30\n"
    path = write(tmp_path, "a.yaml", SYNC + "---\n" + text)
    config = load_desired([path], env={}).resources[1].config
    assert config["Start"] == datetime.date(2026, 1, 1)
    assert config["Country"] == "NO"
    assert config["Sync"] == "yes"
    assert config["Number"] == "0123"
    assert config["Time"] == "12:30"


def test_directories_are_walked_recursively_sorted_skipping_hidden_and_other_files(tmp_path: Path) -> None:
    write(tmp_path, "b/quote.yml", QUOTE)
    write(tmp_path, "a/erp.yaml", ERP)
    write(tmp_path, "sync.yaml", SYNC)
    write(tmp_path, "notes.txt", "not yaml")
    write(tmp_path, ".github/workflows/ci.yml", "on: push\n")
    desired = load_desired([tmp_path], env={})
    assert [Path(f).name for f in desired.files] == ["erp.yaml", "quote.yml", "sync.yaml"]


def test_repeated_paths_are_read_once_and_digest_tracks_content(tmp_path: Path) -> None:
    sync = write(tmp_path, "sync.yaml", SYNC)
    erp = write(tmp_path, "erp.yaml", ERP)
    first = load_desired([sync, erp, tmp_path], env={})
    assert len(first.resources) == 2
    assert first.digest == load_desired([sync, erp], env={}).digest
    assert first.digest != load_desired([erp, sync], env={}).digest
    erp.write_text(ERP.replace("12345", "12346"))
    assert first.digest != load_desired([sync, erp], env={}).digest


def test_unknown_api_version_and_kind_suggest_the_valid_one(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", SYNC.replace("erp-reconciler/v1", "erp-reconciler/v2")
                 + "---\n" + SYNC.replace("kind: SyncConnector", "kind: SyncConector"))
    found = problems(path)
    assert [(d.location.line, d.location.column) for d in found] == [(1, 1), (9, 1)]
    assert found[0].message == "unknown apiVersion 'erp-reconciler/v2'"
    assert found[0].hint == "did you mean 'erp-reconciler/v1'?"
    assert found[1].message == "unknown kind 'SyncConector'"
    assert found[1].hint == "did you mean 'SyncConnector'?"


def test_unknown_keys_at_any_depth_say_did_you_mean(tmp_path: Path) -> None:
    text = ERP.replace("  connector: Visma.net", "  connector: Visma.net\n  conector: x")
    text = text.replace("everyone: true", "everyone: true\n    evryone: true")
    path = write(tmp_path, "a.yaml", SYNC + "---\n" + text)
    found = problems(path)
    assert [(str(d.location).split(":", 1)[1], d.message, d.hint) for d in found] == [
        ("14:3", "unknown key 'conector' in spec", "did you mean 'connector'?"),
        ("17:5", "unknown key 'evryone' in spec.scope", "did you mean 'everyone'?"),
    ]
    assert {d.resource for d in found} == {"ErpConnection/Visma Production"}


def test_missing_required_key_points_at_the_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", SYNC.replace("  url: https://connectors.example.com/visma\n", "  {}\n"))
    found = only(problems(path))
    assert found.message == "missing required key 'url' in spec"
    assert (found.location.line, found.location.column) == (5, 1)
    assert found.resource == "SyncConnector/Visma.net"


@pytest.mark.parametrize(
    ("replace", "by", "line", "message"),
    [
        ("  connector: Visma.net", "  connector: Visma.net\n  active: yes", 7,
         "spec.active must be true or false, not a string"),
        ("  connector: Visma.net", "  connector: Visma.net\n  description: 42", 7,
         "spec.description must be a string, not a number"),
        ("    everyone: true", "    users: Sales", 8, "spec.scope.users must be a list, not a string"),
        ("    CompanyId: 12345", "    CompanyId: [1, 2]", 10,
         "config value 'CompanyId' must be a string, number, boolean or date, not a list"),
        ("  name: Visma Production", "  name: ''", 4, "metadata.name must not be empty"),
    ],
)
def test_wrong_types_get_one_clear_sentence(tmp_path: Path, replace: str, by: str, line: int, message: str) -> None:
    path = write(tmp_path, "a.yaml", ERP.replace(replace, by) + "---\n" + SYNC)
    found = only(problems(path))
    assert found.message == message
    assert found.location.line == line
    assert "Input should be" not in str(found)


def test_scope_must_name_everyone_or_specific_users_and_groups(tmp_path: Path) -> None:
    both = ERP.replace("everyone: true", "everyone: true\n    users: [ADM]")
    neither = ERP.replace("name: Visma Production", "name: Nobody").replace("everyone: true", "groups: []")
    path = write(tmp_path, "a.yaml", SYNC + "---\n" + both + "---\n" + neither)
    found = problems(path)
    assert [(d.location.line, d.resource) for d in found] == [
        (14, "ErpConnection/Visma Production"),
        (26, "ErpConnection/Nobody"),
    ]
    assert "both 'everyone: true' and users/groups" in found[0].message
    assert "scope names nobody" in found[1].message


def test_duplicate_names_within_a_kind_show_both_locations(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", SYNC)
    second = write(tmp_path, "b.yaml", "# the same again\n" + SYNC)
    found = only(problems(first, second))
    assert found.location == Location(str(second.resolve()), 5, 3)
    assert f"also defined at {first.resolve()}:4:3" in found.message
    assert found.resource == "SyncConnector/Visma.net"


def test_same_name_in_different_kinds_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", SYNC + "---\n" + ERP.replace("Visma Production", "Visma.net"))
    assert len(load_desired([path], env={}).resources) == 2


def test_references_must_name_resources_in_the_manifests(tmp_path: Path) -> None:
    erp = ERP.replace("connector: Visma.net", "connector: Visma.nett")
    quote = QUOTE.replace("erpConnection: Visma Production", "erpConnection: Visma Prod")
    path = write(tmp_path, "a.yaml", SYNC + "---\n" + erp + "---\n" + quote)
    found = problems(path)
    assert [(d.location.line, d.location.column, d.message, d.hint) for d in found] == [
        (13, 3, "spec.connector: no SyncConnector named 'Visma.nett' in the manifests",
         "did you mean 'Visma.net'?"),
        (25, 3, "spec.erpConnection: no ErpConnection named 'Visma Prod' in the manifests",
         "did you mean 'Visma Production'?"),
    ]


def test_reference_with_no_candidates_says_what_to_define(tmp_path: Path) -> None:
    found = only(problems(write(tmp_path, "a.yaml", ERP)))
    assert found.hint == "define a SyncConnector with metadata.name 'Visma.net'"


def test_all_problems_in_all_files_are_reported_in_one_run(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", SYNC.replace("url:", "uri:"))
    write(tmp_path, "two.yaml", "a: [1\n")
    write(tmp_path, "three.yaml", ERP.replace("ErpConnection", "ErpConection"))
    found = problems(tmp_path)
    assert sorted(Path(d.location.file).name for d in found) == [
        "one.yaml", "one.yaml", "three.yaml", "two.yaml"
    ]


def test_secret_references_outside_config_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", SYNC.replace("https://connectors.example.com/visma", "${env:URL}"))
    found = only(problems(path, env={"URL": "x"}))
    assert found.message == "spec.url: secret references are only resolved in spec.config values"
    assert (found.location.line, found.location.column) == (6, 3)


def test_the_project_file_in_a_manifest_directory_is_not_read_as_a_manifest(tmp_path):
    from reconciler.manifest.loader import load_desired

    (tmp_path / "reconcile.yaml").write_text("ignore:\n  ErpConnection: ['Legacy *']\n")
    (tmp_path / "c.yaml").write_text(
        "apiVersion: erp-reconciler/v1\nkind: SyncConnector\nmetadata: {name: A}\nspec: {url: https://a}\n"
    )
    assert [r.name for r in load_desired([tmp_path]).resources] == ["A"]
