"""Hostile and broken input: a clear diagnostic with a location, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _manifest_texts import SYNC_BLOCK
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.manifest import files as manifest_files
from reconciler.manifest.loader import load_desired

SYNC = SYNC_BLOCK


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def problems(*paths: Path) -> list[Diagnostic]:
    with pytest.raises(DiagnosticError) as caught:
        load_desired(list(paths), env={})
    return list(caught.value.diagnostics)


def only(found: list[Diagnostic]) -> Diagnostic:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def at(diagnostic: Diagnostic) -> tuple[int, int]:
    assert diagnostic.location is not None
    return diagnostic.location.line, diagnostic.location.column


def test_invalid_yaml_shows_the_problem_and_the_mark(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.yaml", (SYNC + "  extra: [1, 2\n").encode())
    found = only(problems(path))
    assert found.message.startswith("invalid YAML: expected ',' or ']'")
    assert "flow sequence that starts at line 7, column 10" in found.message
    assert found.location is not None and found.location.file == str(path)


def test_a_syntax_error_does_not_hide_errors_in_later_documents(tmp_path: Path) -> None:
    text = "key: 'unterminated\n---\n" + SYNC.replace("url:", "uri:")
    found = problems(write_bytes(tmp_path, "a.yaml", text.encode()))
    assert [d.message.split(":")[0] for d in found] == [
        "invalid YAML",
        "missing required key 'url' in spec",
        "unknown key 'uri' in spec",
    ]
    assert at(found[2]) == (8, 3)


def test_tab_indentation_is_named_explicitly(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.yaml", SYNC.replace("  url:", "\turl:").encode())
    found = only(problems(path))
    assert found.message == "tab character used for indentation"
    assert at(found) == (6, 1)
    assert "spaces" in (found.hint or "")


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.yaml", SYNC.encode().replace(b"Visma.net", b"Vis\xe6a.net"))
    found = only(problems(path))
    assert found.message == "file is not valid UTF-8 (byte 0xE6)"
    assert at(found) == (4, 12)


def test_control_characters_are_located(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.yaml", SYNC.replace("Visma.net", "Visma\x07net").encode())
    found = only(problems(path))
    assert found.message == "character U+0007 is not allowed in YAML"
    assert at(found) == (4, 14)


def test_missing_path(tmp_path: Path) -> None:
    found = only(problems(tmp_path / "nope.yaml"))
    assert found.message.endswith("nope.yaml: no such file or directory")


def test_directory_named_like_a_manifest_is_walked_not_read(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").mkdir()
    write_bytes(tmp_path / "odd.yaml", "sync.yaml", SYNC.encode())
    assert len(load_desired([tmp_path], env={}).resources) == 1


def test_directory_without_manifests(tmp_path: Path) -> None:
    found = only(problems(tmp_path))
    assert found.message.endswith("directory has no *.yaml or *.yml files")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_bytes(tmp_path, "a.yaml", SYNC.encode())
    real_open = Path.open

    def deny(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "a.yaml":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", deny)
    found = only(problems(path))
    assert found.message == f"{path}: cannot read file: permission denied"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    found = only(problems(fifo))
    assert found.message.endswith("file is not a regular file")


@pytest.mark.parametrize("text", ["", "# just a comment\n\n", "---\n---\n"])
def test_file_without_resources(tmp_path: Path, text: str) -> None:
    found = only(problems(write_bytes(tmp_path, "a.yaml", text.encode())))
    assert found.message == "no resources in file"
    assert at(found) == (1, 1)


def test_empty_documents_between_separators_are_skipped(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.yaml", ("---\n---\n" + SYNC + "---\n# nothing\n---\n").encode())
    assert len(load_desired([path], env={}).resources) == 1


@pytest.mark.parametrize(("body", "what"), [("- a\n- b\n", "a list"), ("just text\n", "a string"), ("42\n", "a number")])
def test_document_that_is_not_a_mapping(tmp_path: Path, body: str, what: str) -> None:
    found = only(problems(write_bytes(tmp_path, "a.yaml", (SYNC + "---\n" + body).encode())))
    assert found.message == f"a document must be a mapping (apiVersion, kind, metadata, spec), not {what}"
    assert at(found) == (8, 1)


def test_alias_bomb_is_capped(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    found = only(problems(write_bytes(tmp_path, "bomb.yaml", ("\n".join(lines) + "\n").encode())))
    assert "expands to more than 100000 nodes" in found.message
    assert "alias bomb" in found.message


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    found = only(problems(write_bytes(tmp_path, "a.yaml", b"a: &loop [1, *loop]\n")))
    assert found.message == "recursive YAML alias: a node contains itself"
    assert at(found) == (1, 4)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    found = only(problems(write_bytes(tmp_path, "a.yaml", b"a: " + b"[" * 5000 + b"\n")))
    assert found.message == "nesting is deeper than 64 levels"


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "big.yaml", b"# " + b"x" * manifest_files.MAX_FILE_BYTES + b"\n")
    found = only(problems(path))
    assert found.message == f"{path}: file is larger than 5 MiB"


def test_duplicate_mapping_keys_show_both_places(tmp_path: Path) -> None:
    text = SYNC.replace("  url: https", "  url: https://first\n  url: https")
    found = only(problems(write_bytes(tmp_path, "a.yaml", text.encode())))
    assert found.message == f"duplicate key 'url' (first at {tmp_path / 'a.yaml'}:6:3)"
    assert at(found) == (7, 3)
    assert found.resource == "SyncConnector/Visma.net"


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!binary", "!custom"])
def test_unsafe_and_unknown_tags_are_refused(tmp_path: Path, tag: str) -> None:
    text = SYNC.replace("url: https", f"url: {tag} https")
    found = only(problems(write_bytes(tmp_path, "a.yaml", text.encode())))
    assert found.message.startswith("unsupported YAML tag")
    assert at(found) == (6, 8)


def test_merge_keys_work_and_explicit_keys_win(tmp_path: Path) -> None:
    text = (
        "apiVersion: erp-reconciler/v1\nkind: SyncConnector\nmetadata: {name: C}\nspec: {url: u}\n---\n"
        "apiVersion: erp-reconciler/v1\nkind: ErpConnection\nmetadata: {name: A}\n"
        "spec:\n  <<: {connector: C, description: shared, scope: {everyone: true}}\n  description: own\n"
    )
    desired = load_desired([write_bytes(tmp_path, "a.yaml", text.encode())], env={})
    spec = desired.resources[1].manifest.spec
    assert (spec.connector, spec.description) == ("C", "own")  # type: ignore[union-attr]
    assert desired.resources[1].locate("spec", "description").line == 11


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + SYNC.replace("\n", "\r\n").encode()
    desired = load_desired([write_bytes(tmp_path, "a.yaml", data)], env={})
    assert desired.resources[0].locate("spec", "url").line == 6


def test_deep_nesting_through_aliases_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 " + "[" * 40 + "]" * 40]
    lines += [f"a{n}: &a{n} " + "[" * 40 + f"*a{n - 1}" + "]" * 40 for n in range(1, 30)]
    found = only(problems(write_bytes(tmp_path, "a.yaml", ("\n".join(lines) + "\n").encode())))
    assert found.message == "nesting is deeper than 64 levels (through YAML aliases)"
