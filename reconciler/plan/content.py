"""A digest of what the manifests ask for one resource, for saved plans to compare.

It covers the desired state (names, scope, config), not where the manifest
lives, so moving a file with the same contents changes nothing. Secret values
are left out (a Sensitive counts as its ${env:…}/${file:…} reference, or as a
fixed marker): the digest is written to plan files, and must not let anyone
test a guessed secret against it.
"""

from __future__ import annotations

import hashlib
import json

from reconciler.plan.model import State, flatten_state
from reconciler.secrets import Sensitive


def _plain(value: object) -> object:
    if isinstance(value, Sensitive):
        return {"secret": value.reference}
    if isinstance(value, tuple):
        return list(value)
    return value


def content_digest(state: State) -> str:
    data = {"type": type(state).__name__, **{path: _plain(v) for path, v in flatten_state(state).items()}}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
