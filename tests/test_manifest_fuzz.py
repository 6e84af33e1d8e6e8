"""Property: whatever bytes the loader is given, it returns Desired or raises DiagnosticError."""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz_depth import examples
from reconciler.diagnostics import DiagnosticError
from reconciler.manifest.loader import load_desired
from reconciler.manifest.models import Desired

SEED = (Path(__file__).resolve().parent.parent / "examples" / "connections.yaml").read_bytes()

TOKENS = [
    b"\t", b"\n", b"---\n", b"...\n", b": ", b"- ", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"<<: *a",
    b"!!python/object:os.system ", b"!!binary ", b"!x ", b"'", b'"', b"|\n", b">-\n", b"#", b"? ",
    b"${env:X}", b"${file:../../etc/passwd}", b"$${", b"${", b"\xff", b"\x00", b"\xef\xbb\xbf",
    b"2026-13-45", b"0x1G", b".inf", b"~", b"%YAML 1.1\n", b"kind: ErpConnection\n", b"  ",
]
KEYS = ["apiVersion", "kind", "metadata", "name", "spec", "url", "connector", "erpConnection",
        "scope", "everyone", "users", "groups", "config", "active", "description", "ApiKey"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.dates(), st.datetimes(max_value=datetime.datetime(9999, 1, 1)),
    st.sampled_from(["erp-reconciler/v1", "SyncConnector", "ErpConnection", "QuoteConnection",
                     "${env:HOME}", "$${x}", "${file:nope}", "Visma.net"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=6),
    ),
    max_leaves=30,
)


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for position, delete, insert in edits:
        at = position % (len(data) + 1)
        data = data[:at] + insert + data[at + delete:]
    return data


edits = st.lists(
    st.tuples(st.integers(0, len(SEED)), st.integers(0, 40), st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8))),
    min_size=1, max_size=6,
)


def check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.yaml"
        path.write_bytes(data)
        try:
            result = load_desired([path], env={"X": "secret"})
        except DiagnosticError as exc:
            assert exc.diagnostics, "a DiagnosticError must carry at least one diagnostic"
            for diagnostic in exc.diagnostics:
                assert diagnostic.message
                if diagnostic.location is not None:
                    assert diagnostic.location.line >= 1 and diagnostic.location.column >= 1
        else:
            assert isinstance(result, Desired)


SETTINGS = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(documents, min_size=1, max_size=3))
def test_generated_documents(docs: list[object]) -> None:
    check(yaml.safe_dump_all(docs, allow_unicode=True).encode("utf-8"))


@SETTINGS
@given(edits)
def test_mutated_example_manifests(changes: list[tuple[int, int, bytes]]) -> None:
    check(mutate(SEED, changes))


@settings(max_examples=examples(100), deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)
