"""Errors from talking to the CRM.

Each is a `DiagnosticError` with one diagnostic, so the CLI reports it like any
other problem the user has to fix: one clear line, no traceback. Messages name
the endpoint (agent method, never the request body: bodies carry secrets), the
HTTP status and the server's own `Message`/`MessageDetail` when it sent one.
"""

from __future__ import annotations

from reconciler.diagnostics import Diagnostic, DiagnosticError

CREDENTIAL_VARIABLES = (
    "SUPEROFFICE_TOKEN, or SUPEROFFICE_TICKET and SUPEROFFICE_APP_TOKEN, "
    "or SUPEROFFICE_USER and SUPEROFFICE_PASSWORD"
)


class CrmError(DiagnosticError):
    """Any failure of a CRM request, after retries where they apply."""

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        status: int | None = None,
        server_message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.server_message = server_message
        text = f"CRM request {endpoint} {message}"
        if status is not None:
            text += f" (HTTP {status})"
        if server_message:
            text += f": {server_message}"
        super().__init__([Diagnostic(text, hint=hint)])


class CrmAuthError(CrmError):
    """401/403: the credentials were refused or lack a right."""


class CrmRequestError(CrmError):
    """400: the server rejected the arguments."""


class CrmNotFoundError(CrmError):
    """404: the endpoint or list does not exist on this server."""


class CrmServerError(CrmError):
    """Any other error status (500 and friends), or retryable ones after giving up."""


class CrmUnavailableError(CrmError):
    """The server could not be reached, or kept refusing, until retries ran out."""


class CrmWriteUncertainError(CrmError):
    """A write's outcome is unknown: the connection broke after it was sent."""


class CrmProtocolError(CrmError):
    """The response was not JSON, or not the shape the API documents."""


def server_message(body: object) -> str | None:
    """`Message` and `MessageDetail` of an ASP.NET error body, if present."""
    if not isinstance(body, dict):
        return None
    parts = [
        str(body[key]).strip()
        for key in ("Message", "MessageDetail")
        if isinstance(body.get(key), str) and body[key].strip()
    ]
    return " — ".join(parts) or None
