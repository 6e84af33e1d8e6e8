"""YAML text -> plain Python data with a file:line:col for every node.

Only safe loading: we compose YAML into nodes (no object construction at all)
and turn the nodes into dicts, lists and scalars ourselves. That is where the
hostile-input rules live: duplicate keys, unsupported tags, alias bombs,
recursive aliases, deep nesting and tab indentation all become diagnostics.

Scalars resolve by the YAML 1.2 core schema, plus dates (see yaml_scalars).
Keys are always strings as written.

Three ways through, the same result (tests/test_manifest_yaml_fast_path.py):
plain YAML is built in one pass from libyaml's events (yaml_events); anything
else is composed into nodes from libyaml's events and built here; text with a
syntax error is parsed again by PyYAML's pure-Python parser, whose messages we
word. Without libyaml only the last parser is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from reconciler.diagnostics import Diagnostic, Location
from reconciler.manifest.yaml_events import read_plain_documents
from reconciler.manifest.yaml_scalars import MERGE, NULL, SCALAR_TAGS, TAG, CoreResolver, convert_scalar

MAX_NODES_PER_DOCUMENT = 100_000
MAX_DEPTH = 64

NodePath = tuple[Union[str, int], ...]

# A line with its break, as YAML counts breaks (so line numbers agree with its marks).
_LINE = re.compile(r"[^\r\n\x85\u2028\u2029]*(?:\r\n|[\r\n\x85\u2028\u2029])|[^\r\n\x85\u2028\u2029]+$")
_DOCUMENT_MARKER = re.compile(r"^(?:---|\.\.\.)(?:[ \t]|$)")


class _TooDeep(yaml.YAMLError):
    def __init__(self, node_mark: yaml.Mark) -> None:
        self.mark = node_mark


class _DepthCap(Composer):
    _depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        # The composer recurses; cap nesting before Python's stack does.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _SafeComposer(_DepthCap, Reader, Scanner, Parser, CoreResolver):
    """PyYAML's pure-Python reader/scanner/parser/composer: nodes with marks, never objects."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        CoreResolver.__init__(self)


_FastComposer: type[Composer] | None = None
try:
    from yaml._yaml import CParser as _CParser  # libyaml, when PyYAML was built with it
except ImportError:
    _CParser = None

if _CParser is not None:

    class _LibyamlComposer(_DepthCap, _CParser, CoreResolver):  # type: ignore[misc, valid-type]
        """libyaml scans and parses into the same events, about 7x faster than the
        pure-Python scanner; composing (and the depth cap) stays in Python, so nodes,
        marks and resolution are the same. Only used for text it parses without error:
        errors are reported from the pure-Python parser, whose messages we word."""

        def __init__(self, text: str) -> None:
            _CParser.__init__(self, text)
            Composer.__init__(self)
            CoreResolver.__init__(self)

    _FastComposer = _LibyamlComposer


@dataclass
class YamlDocument:
    """One non-empty YAML document of a file."""

    file: str
    index: int  # 0-based position among the file's documents
    root: Location
    data: Any
    locations: dict[NodePath, Location] = field(default_factory=dict)
    # Problems found while reading the YAML (duplicate keys, tags, bad scalars).
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass
class ParsedFile:
    documents: list[YamlDocument]
    diagnostics: list[Diagnostic]


def parse_documents(text: str, file: str) -> ParsedFile:
    """All documents of one file; a syntax error spoils only its own document."""
    documents: list[YamlDocument] = []
    diagnostics: list[Diagnostic] = []
    # Usually the whole file is plain YAML and reads in one pass; splitting it
    # into documents only matters when something needs the careful path.
    plain = _read_plain(text, file, 0)
    if plain is not None:
        return ParsedFile(plain, diagnostics)
    for first_line, chunk in _split_documents(text):
        plain = _read_plain(chunk, file, first_line, first_index=len(documents))
        if plain is not None:
            documents.extend(plain)
            continue
        try:
            roots = _compose_all(chunk)
        except _TooDeep as exc:
            diagnostics.append(
                Diagnostic(
                    f"nesting is deeper than {MAX_DEPTH} levels",
                    _location(file, exc.mark, first_line),
                    hint="a manifest needs only a few levels; check the brackets and indentation",
                )
            )
            continue
        except yaml.YAMLError as exc:
            diagnostics.append(_syntax_diagnostic(exc, chunk, file, first_line))
            continue
        for root in roots:
            if _is_empty(root):
                continue  # an empty document between `---` separators
            builder = _Builder(file, first_line)
            try:
                data = builder.build(root, ())
            except _BuildAborted:
                diagnostics.extend(builder.diagnostics)
                continue
            documents.append(
                YamlDocument(
                    file=file,
                    index=len(documents),
                    root=_location(file, root.start_mark, first_line),
                    data=data,
                    locations=builder.locations,
                    diagnostics=builder.diagnostics,
                )
            )
    return ParsedFile(documents, diagnostics)


def _read_plain(text: str, file: str, first_line: int, first_index: int = 0) -> list[YamlDocument] | None:
    """The documents of `text` if it is plain YAML (see yaml_events), else None."""
    if _FastComposer is None:  # no libyaml (or a test asking for the pure-Python path)
        return None
    plain = read_plain_documents(text, file, first_line, MAX_DEPTH, MAX_NODES_PER_DOCUMENT)
    if plain is None:
        return None
    return [
        YamlDocument(file=file, index=first_index + offset, root=root, data=data, locations=locations)
        for offset, (root, data, locations) in enumerate(plain)
    ]


def _compose_all(chunk: str) -> list[Node]:
    if _FastComposer is not None:
        try:
            return _compose_with(_FastComposer, chunk)
        except yaml.YAMLError:
            pass  # report it in the pure-Python parser's words, as below
    return _compose_with(_SafeComposer, chunk)


def _compose_with(composer_class: type[Composer], chunk: str) -> list[Node]:
    composer: Any = composer_class(chunk)  # type: ignore[call-arg]
    try:
        nodes = []
        while composer.check_node():
            node = composer.get_node()
            if node is not None:
                nodes.append(node)
        return nodes
    finally:
        composer.dispose()


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Chunks of whole documents with their first line (0-based).

    A line starting with `---` or `...` at column 0 is always a document
    boundary in YAML (even inside a block scalar), so splitting there lets one
    broken document not hide the errors in the others. Directives and comments
    before a `---` stay with the document they introduce.
    """
    lines = _LINE.findall(text)
    start = 0
    only_preamble = True
    for number, line in enumerate(lines):
        if line.startswith("---") and _DOCUMENT_MARKER.match(line) and not only_preamble:
            yield start, "".join(lines[start:number])
            start = number
            only_preamble = True
            continue
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "%", "---")):
            only_preamble = False
        if line.startswith("...") and _DOCUMENT_MARKER.match(line):
            only_preamble = True
    yield start, "".join(lines[start:])


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL


def _location(file: str, mark: yaml.Mark | None, first_line: int) -> Location:
    if mark is None:
        return Location(file, first_line + 1, 1)
    return Location(file, first_line + mark.line + 1, mark.column + 1)


def _syntax_diagnostic(exc: yaml.YAMLError, chunk: str, file: str, first_line: int) -> Diagnostic:
    if isinstance(exc, yaml.reader.ReaderError):
        line = chunk.count("\n", 0, exc.position)
        column = exc.position - (chunk.rfind("\n", 0, exc.position) + 1)
        return Diagnostic(
            f"character U+{exc.character:04X} is not allowed in YAML",
            Location(file, first_line + line + 1, column + 1),
            hint="remove the control character",
        )
    mark: yaml.Mark | None = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        tab = _indentation_tab(chunk, mark.line)
        if tab is not None:
            return Diagnostic(
                "tab character used for indentation",
                Location(file, first_line + mark.line + 1, tab + 1),
                hint="YAML indents with spaces only; replace the tab with spaces",
            )
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    # Each document is parsed on its own, so the "stream" ends with the document.
    problem = problem.replace("'<stream end>'", "the end of the document")
    message = f"invalid YAML: {problem}"
    context = getattr(exc, "context", None)
    context_mark: yaml.Mark | None = getattr(exc, "context_mark", None)
    if context:
        message += f" ({context}"
        if context_mark is not None and context_mark is not mark:
            started = _location(file, context_mark, first_line)
            message += f" that starts at line {started.line}, column {started.column}"
        message += ")"
    return Diagnostic(message, _location(file, mark, first_line))


def _indentation_tab(chunk: str, line_number: int) -> int | None:
    """The column of a tab in the leading whitespace of the line (or the line before)."""
    lines = chunk.splitlines()
    for number in (line_number, line_number - 1):
        if 0 <= number < len(lines):
            line = lines[number]
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            if "\t" in indent:
                return indent.index("\t")
    return None


class _BuildAborted(Exception):
    """The document cannot be turned into data (alias bomb, recursion)."""


class _Builder:
    """Turns one composed document into data, recording where every node is."""

    def __init__(self, file: str, first_line: int) -> None:
        self.file = file
        self.first_line = first_line
        self.locations: dict[NodePath, Location] = {}
        self.diagnostics: list[Diagnostic] = []
        self._expanded = 0
        self._active: set[int] = set()  # ids of the nodes on the current path

    def where(self, node: Node) -> Location:
        return _location(self.file, node.start_mark, self.first_line)

    def build(self, node: Node, path: NodePath) -> Any:
        self._expanded += 1
        if self._expanded > MAX_NODES_PER_DOCUMENT:
            self.diagnostics.append(
                Diagnostic(
                    f"document expands to more than {MAX_NODES_PER_DOCUMENT} nodes "
                    "through YAML aliases (an 'alias bomb')",
                    self.where(node),
                    hint="write the values out instead of nesting aliases (*name)",
                )
            )
            raise _BuildAborted
        if len(path) > MAX_DEPTH:
            # Aliases can nest deeper than the text itself does.
            self.diagnostics.append(
                Diagnostic(
                    f"nesting is deeper than {MAX_DEPTH} levels (through YAML aliases)",
                    self.where(node),
                    hint="write the values out instead of nesting aliases (*name)",
                )
            )
            raise _BuildAborted
        self.locations.setdefault(path, self.where(node))
        if id(node) in self._active:
            self.diagnostics.append(
                Diagnostic(
                    "recursive YAML alias: a node contains itself",
                    self.where(node),
                    hint="an alias (*name) may not refer to an anchor that encloses it",
                )
            )
            raise _BuildAborted
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                self._check_tag(node, TAG + "seq")
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            self._unsupported_tag(node)

    def _unsupported_tag(self, node: Node) -> None:
        self.diagnostics.append(
            Diagnostic(
                f"unsupported YAML tag '{node.tag}'",
                self.where(node),
                hint="remove the tag; manifests use plain strings, numbers, booleans, dates, lists and mappings",
            )
        )

    def _mapping(self, node: MappingNode, path: NodePath) -> dict[str, Any]:
        self._check_tag(node, TAG + "map")
        result: dict[str, Any] = {}
        merges: list[Node] = []
        first_seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.diagnostics.append(
                    Diagnostic(
                        "a mapping key must be a plain string, not a list or mapping",
                        self.where(key_node),
                    )
                )
                continue
            key = key_node.value
            where = self.where(key_node)
            if key in first_seen:
                self.diagnostics.append(
                    Diagnostic(
                        f"duplicate key '{key}' (first at {first_seen[key]})",
                        where,
                        hint="YAML would silently keep only the last one; remove one of them",
                    )
                )
                continue
            first_seen[key] = where
            # Locations point at the key: that is where an entry starts.
            self.locations[path + (key,)] = where
            result[key] = self.build(value_node, path + (key,))
        for merge in merges:
            for key, value in self._merge(merge, path).items():
                result.setdefault(key, value)
        # Merged-in keys recorded their anchor's location; explicit keys win.
        for key, where in first_seen.items():
            self.locations[path + (key,)] = where
        return result

    def _merge(self, node: Node, path: NodePath) -> dict[str, Any]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                self.diagnostics.append(
                    Diagnostic("a merge key '<<' needs a mapping or a list of mappings", self.where(source))
                )
                continue
            value = self.build(source, path)
            for key, item in value.items():
                merged.setdefault(key, item)
        return merged

    def _scalar(self, node: Node) -> Any:
        assert isinstance(node, ScalarNode)
        tag, value = node.tag, node.value
        if tag not in SCALAR_TAGS:
            self._unsupported_tag(node)
            return value
        try:
            return convert_scalar(tag, value)
        except (ValueError, TypeError, OverflowError, AttributeError):
            kind = tag.rsplit(":", 1)[-1]
            self.diagnostics.append(
                Diagnostic(f"'{value[:40]}' is not a valid {kind}", self.where(node))
            )
            return value
