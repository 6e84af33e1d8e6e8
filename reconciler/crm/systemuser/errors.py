"""The one error type of the system user flow: one line, never a secret."""

from __future__ import annotations

from reconciler.diagnostics import Diagnostic, DiagnosticError


class SystemUserError(DiagnosticError):
    """The exchange or the tenant lookup failed; the message says what to check."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__([Diagnostic(message, hint=hint)])
