"""Fingerprints of live objects: a saved plan records them, apply compares.

The digest covers every compared field of the object, secrets included (revealed
only inside the hash), so that a changed password also makes a saved plan stale.
Anyone able to test guesses against it could read the value from the CRM anyway.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass

from reconciler.secrets import Sensitive


_SCALARS = (str, int, bool, float, type(None))


def _plain(value: object) -> object:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Sensitive):
        return {"sensitive": value.reveal()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@functools.cache
def _compared_fields(cls: type) -> tuple[str, ...]:
    # Fields declared compare=False (the sync watermark MostRecentTimestamp, ExtraData) change
    # in the background; they must not make a saved plan stale.
    return tuple(f.name for f in fields(cls) if f.compare)


def fingerprint(obj: object) -> str:
    if not is_dataclass(obj) or isinstance(obj, type):
        raise TypeError("fingerprint() takes a live dataclass instance")
    data = {name: _plain(getattr(obj, name)) for name in _compared_fields(type(obj))}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
