"""Fingerprints of live objects: a saved plan records them, apply compares.

The digest covers every compared field of the object except secret values: a
Password-type config value (a `Sensitive`) and any config key that the
manifests fill from a secret are replaced by a fixed marker. The fingerprint
is written to saved plans, JSON plans and reports, and everything else it
covers is in those files too, so a digest over a secret would let anyone with
the file test guesses offline. A secret changed in the CRM after planning is
therefore not seen by the fingerprint; apply still refuses a saved plan whose
changes (which fields change) differ from a fresh plan's.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import fields, is_dataclass

from reconciler.secrets import Sensitive


_SCALARS = (str, int, bool, float, type(None))
SECRET_MARKER = "(secret: not fingerprinted)"


def _plain(value: object) -> object:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Sensitive):
        return SECRET_MARKER
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _config(config: Mapping[str, object], secret_keys: Collection[str]) -> dict[str, object]:
    return {str(k): SECRET_MARKER if k in secret_keys else _plain(v) for k, v in config.items()}


@functools.cache
def _compared_fields(cls: type) -> tuple[str, ...]:
    # Fields declared compare=False (the sync watermark MostRecentTimestamp, ExtraData) change
    # in the background; they must not make a saved plan stale.
    return tuple(f.name for f in fields(cls) if f.compare)


def fingerprint(obj: object, secret_keys: Collection[str] = ()) -> str:
    """A digest of `obj` without its secrets; `secret_keys` are config keys to leave out too
    (values the manifests take from ${env:…}/${file:…}, whatever the field's type)."""
    if not is_dataclass(obj) or isinstance(obj, type):
        raise TypeError("fingerprint() takes a live dataclass instance")
    data = {
        name: _config(getattr(obj, name), secret_keys) if name == "config" else _plain(getattr(obj, name))
        for name in _compared_fields(type(obj))
    }
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
