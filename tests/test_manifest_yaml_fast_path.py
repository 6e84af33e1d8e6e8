"""Manifests read through libyaml give exactly what the pure-Python parser gives.

yaml_source has three ways to read a file when PyYAML has libyaml: plain YAML is
built in one pass from libyaml's events (yaml_events); anything else is composed
into nodes from libyaml's events; any YAML error is reported by the pure-Python
parser. These tests compare the paths: data, every recorded location, and every
diagnostic.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from _fuzz_depth import examples
from reconciler.manifest import yaml_source
from reconciler.manifest.yaml_source import parse_documents

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(yaml_source._FastComposer is None, reason="PyYAML without libyaml")

CASES = {
    "example": (ROOT / "examples" / "connections.yaml").read_text(encoding="utf-8"),
    "scalars": "a: 1\nb: 1.5\nc: true\nd: ~\ne: 2026-01-31\nf: 2026-01-31T09:00:00Z\ng: 0123\nh: NO\ni: '1'\nj: 1:30\n",
    "anchors and merge": "base: &b {x: 1, y: [1, 2]}\nuse:\n  <<: *b\n  y: 3\nagain: *b\n",
    "block scalars": "lit: |\n  one\n  two\nfold: >-\n  a\n  b\nkeep: |+\n  x\n\n",
    "flow and unicode": "name: Bjørn Klev — Ærø\nlist: [a, 'b c', \"d\\te\", {k: v}]\nempty: {}\n",
    "several documents": "---\na: 1\n---\n# comment only\n---\nb: [1, 2]\n...\n---\nc: x\n",
    "duplicate key": "a: 1\na: 2\n",
    "tag": "a: !!python/object:os.system ls\n",
    "syntax error": "a: [1, 2\nb: 3\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "tab indentation": "a:\n\tb: 1\n",
    "control character": "a: b\x07c\n",
    "too deep": "a: " + "[" * 80 + "]" * 80 + "\n",
    "recursive alias": "a: &x [*x]\n",
    "one bad document among good": "a: 1\n---\nb: [\n---\nc: 3\n",
    "windows line ends": "a: 1\r\nb:\r\n  - x\r\n",
    "keys that look like other things": "1: a\ntrue: b\n~: c\n'<<': d\n2026-01-01: e\n\"x\": f\n",
    "list or mapping as a key": "? [a, b]\n: 1\n? {k: v}\n: 2\n",
    "explicit tags": "a: !!str 1\nb: ! 2\nc: !!int '3'\nd: !!map {x: 1}\n",
    "invalid tagged scalars": "a: !!int x\nb: !!bool maybe\nc: !!null 0\n",
    "anchor without alias": "a: &x 1\nb: 2\n",
    "scalar and empty documents": "--- hello\n---\n--- ~\n---\n- 1\n",
    "comments and directives": "%YAML 1.1\n# c\n---\na: 1 # c\n...\n# only a comment\n",
    "document markers in a block scalar": "a: |\n  x\n---\nb: 1\n",
    "deep but allowed": "a: " + "[" * 60 + "]" * 60 + "\n",
    "a long list": "a:\n" + "".join(f"  - {i}\n" for i in range(2000)),
}


def both(text: str) -> tuple[Any, Any]:
    """The file read the usual way, and read by the pure-Python parser only."""
    fast = parse_documents(text, "m.yaml")
    saved = yaml_source._FastComposer
    yaml_source._FastComposer = None  # no libyaml paths at all
    try:
        pure = parse_documents(text, "m.yaml")
    finally:
        yaml_source._FastComposer = saved
    return fast, pure


def summary(parsed: yaml_source.ParsedFile) -> Any:
    return (
        [(d.index, d.root, repr(d.data), d.locations, [str(p) for p in d.diagnostics]) for d in parsed.documents],
        [str(p) for p in parsed.diagnostics],
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_parsers_read_the_same(name: str):
    fast, pure = both(CASES[name])
    assert summary(fast) == summary(pure)


def test_errors_still_have_their_wording_and_place():
    fast, _ = both(CASES["one bad document among good"])
    assert [d.data for d in fast.documents] == [{"a": 1}, {"c": 3}]
    assert [str(d) for d in fast.diagnostics] == [
        "m.yaml:4:1: invalid YAML: expected the node content, but found the end of the document "
        "(while parsing a flow node)"
    ]


def test_plain_yaml_is_read_from_events_and_the_rest_is_composed(monkeypatch: pytest.MonkeyPatch):
    composed: list[str] = []
    real = yaml_source._compose_with

    def spy(composer_class: type, chunk: str) -> Any:
        composed.append(composer_class.__name__)
        return real(composer_class, chunk)

    monkeypatch.setattr(yaml_source, "_compose_with", spy)
    assert parse_documents("a: [1, {b: c}]\n---\nd: 2\n", "m.yaml").documents[1].data == {"d": 2}
    assert composed == []  # the one-pass reader took it
    parse_documents("a: &x 1\nb: *x\n", "m.yaml")
    assert composed == [yaml_source._FastComposer.__name__]  # type: ignore[union-attr]


def test_one_odd_document_sends_only_itself_the_careful_way(monkeypatch: pytest.MonkeyPatch):
    composed: list[str] = []
    real = yaml_source._compose_with

    def spy(composer_class: type, chunk: str) -> Any:
        composed.append(chunk)
        return real(composer_class, chunk)

    monkeypatch.setattr(yaml_source, "_compose_with", spy)
    parsed = parse_documents("a: 1\n---\nb: &x 2\nc: *x\n---\nd: 3\n", "m.yaml")
    assert [d.data for d in parsed.documents] == [{"a": 1}, {"b": 2, "c": 2}, {"d": 3}]
    assert composed == ["---\nb: &x 2\nc: *x\n"]


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12), st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=examples(150), deadline=None)
@given(docs=st.lists(documents, min_size=1, max_size=3), flow=st.sampled_from([None, True, False]))
def test_generated_yaml_reads_the_same(docs: list[Any], flow: bool | None):
    text = yaml.safe_dump_all(docs, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    fast, pure = both(text)
    assert summary(fast) == summary(pure)


fragment_lines = st.lists(
    st.tuples(
        st.sampled_from(["", "  ", "    ", "- ", "  - "]),
        st.sampled_from([
            "a: 1", "a: 2", "b:", "c: [1, {d: e}]", "? x", ": y", "k: &anchor v", "m: *anchor",
            "<<: {z: 1}", "t: !!str 5", "u: !!int nope", "'q': \"w\"", "n: ~", "- item", "v: 2026-02-30",
            "---", "...", "# comment", "%YAML 1.2", "w: |", "  block", "x: {", "}", "y: 0123", "-", "",
        ]),
    ),
    max_size=12,
)


@settings(max_examples=examples(300), deadline=None)
@given(lines=fragment_lines)
def test_odd_and_broken_yaml_reads_the_same(lines: list[tuple[str, str]]):
    text = "".join(indent + line + "\n" for indent, line in lines)
    fast, pure = both(text)
    assert summary(fast) == summary(pure)
