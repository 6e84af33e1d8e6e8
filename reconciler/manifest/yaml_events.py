"""The quick way from YAML text to data and locations: one pass over libyaml's events.

Most manifests are plain mappings, lists and scalars. For those this builds the
data and the location of every entry straight from the parse events, without
composing nodes first (a third of the time of loading 10,000 manifests went
to composing nodes and walking them again).

It handles only what it can read exactly as `yaml_source`'s careful path does.
Anything else (an anchor, alias or merge key, an explicit tag, a duplicate or
non-string key, a scalar that does not convert, deep nesting, a huge document,
any syntax error) makes it give up, and the careful path reads the text and
words the diagnostics. So the two never disagree; tests/test_manifest_yaml_fast_path.py
compares them.
"""

from __future__ import annotations

from typing import Any, Optional

from yaml import YAMLError
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from reconciler.diagnostics import Location
from reconciler.manifest.yaml_scalars import MERGE, NULL, RESOLVERS_BY_FIRST_CHARACTER as _RESOLVERS
from reconciler.manifest.yaml_scalars import STR, convert_scalar

try:
    from yaml._yaml import CParser  # libyaml, when PyYAML was built with it
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    CParser = None

# Plain documents per chunk: (root location, data, locations by path).
EventDocument = tuple[Location, Any, dict[tuple[Any, ...], Location]]

_NO_KEY = object()


class _GiveUp(Exception):
    """Not a plain document; the careful path will read it."""


def read_plain_documents(chunk: str, file: str, first_line: int, max_depth: int, max_nodes: int) -> Optional[list[EventDocument]]:
    """The non-empty documents of `chunk`, or None when the careful path must read it.

    `first_line` is the chunk's first line in the file (0-based); `max_depth`
    and `max_nodes` are the careful path's limits, which are never reached here.
    """
    if CParser is None:
        return None
    parser = CParser(chunk)
    try:
        documents: list[EventDocument] = []
        parser.get_event()  # stream start
        while type(parser.get_event()) is not StreamEndEvent:  # a document starts
            document = _read_document(parser, file, first_line, max_depth, max_nodes)
            if document is not None:
                documents.append(document)
            if type(parser.get_event()) is not DocumentEndEvent:
                return None  # pragma: no cover - libyaml always ends a document
        return documents
    except (_GiveUp, YAMLError):
        return None
    finally:
        parser.dispose()


def _read_document(parser: Any, file: str, first_line: int, max_depth: int, max_nodes: int) -> Optional[EventDocument]:
    """One document's data, or None for an empty document; raises _GiveUp.

    One loop over the parser's events on purpose (complexity above 15): it runs once
    per YAML node of every manifest, the hot path of loading (docs/benchmarks.md), where
    a function call per event would add to the cost of every node."""
    locations: dict[tuple[Any, ...], Location] = {}
    # Open collections, innermost last: [container, its path, the pending key or _NO_KEY].
    stack: list[list[Any]] = []
    root: Any = None
    root_location: Location | None = None
    nodes = 0
    # Leave the limits' diagnostics to the careful path, well before reaching them.
    depth_limit = max_depth - 2
    node_limit = max_nodes - 2
    line_base = first_line + 1  # marks count lines from 0 within the chunk
    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is MappingEndEvent or kind is SequenceEndEvent:
            stack.pop()
            if not stack:
                break
            continue
        nodes += 1
        if nodes > node_limit or event.anchor is not None:
            raise _GiveUp
        # Locations are made only where they are kept: keys, list items, the root.
        if kind is ScalarEvent:
            if event.tag is not None:
                raise _GiveUp
            text = event.value
            tag = STR
            if event.implicit[0]:
                # Plain: resolve it as CoreResolver.resolve does (inlined: the hottest spot here).
                for candidate, regexp in _RESOLVERS.get(text[:1], ()):
                    if regexp.match(text):
                        tag = candidate
                        break
            if stack:
                frame = stack[-1]
                if frame[2] is _NO_KEY and type(frame[0]) is dict:
                    # A key: a plain string, never a merge, never seen before in this mapping.
                    if tag == MERGE or text in frame[0]:
                        raise _GiveUp
                    frame[2] = text
                    # An entry's location is its key's.
                    mark = event.start_mark
                    locations[frame[1] + (text,)] = Location(file, line_base + mark.line, mark.column + 1)
                    continue
            try:
                value = text if tag == STR else convert_scalar(tag, text)
            except (ValueError, TypeError, OverflowError, AttributeError):
                raise _GiveUp from None
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag is not None or len(stack) >= depth_limit:
                raise _GiveUp
            value = {} if kind is MappingStartEvent else []
        else:
            raise _GiveUp  # an alias

        if not stack:
            mark = event.start_mark
            root, root_location = value, Location(file, line_base + mark.line, mark.column + 1)
            locations[()] = root_location
            if kind is ScalarEvent:
                if tag == NULL:
                    return None  # an empty document between `---` separators
                break
            stack.append([value, (), _NO_KEY])
            continue
        frame = stack[-1]
        container = frame[0]
        if type(container) is dict:
            if frame[2] is _NO_KEY:
                raise _GiveUp  # a list or mapping as a key
            path = frame[1] + (frame[2],)
            container[frame[2]] = value
            frame[2] = _NO_KEY
        else:
            path = frame[1] + (len(container),)
            mark = event.start_mark
            locations[path] = Location(file, line_base + mark.line, mark.column + 1)
            container.append(value)
        if kind is not ScalarEvent:
            stack.append([value, path, _NO_KEY])
    assert root_location is not None
    return root_location, root, locations
