"""The emulator in-process: the default target of plan/apply when no URL is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.applications import Starlette

from reconciler.emulator.app import create_app

DEFAULT_STATE = Path(".reconcile/emulator.sqlite")
EMBEDDED_BASE_URL = "http://embedded-emulator/"


@dataclass
class EmbeddedEmulator:
    transport: httpx.AsyncBaseTransport  # an httpx.ASGITransport over the app
    base_url: str  # ends with "/"; the client appends "api/v1/…"
    headers: dict[str, str] = field(repr=False)  # valid demo credentials
    app: Starlette | None = field(default=None, repr=False)
    state_path: Path = DEFAULT_STATE


def open_embedded(state_path: Path = DEFAULT_STATE) -> EmbeddedEmulator:
    """The emulator over `state_path` (created and seeded from the default seed on first use)."""
    state_path = Path(state_path)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    app = create_app(state_path)
    emu = app.state.emulator
    return EmbeddedEmulator(
        transport=httpx.ASGITransport(app=app),
        base_url=EMBEDDED_BASE_URL,
        headers=emu.credentials.default_headers(),
        app=app,
        state_path=state_path,
    )
