"""Errors from talking to the CRM.

Each is a `DiagnosticError` with one diagnostic, so the CLI reports it like any
other problem the user has to fix: one clear line, no traceback. Messages name
the endpoint (agent method, never the request body: bodies carry secrets), the
HTTP status and the server's own words (`ErrorMessage`/`ErrorType`, or
`Message`/`MessageDetail`) when it sent any.
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
    """404: the endpoint, list or entity does not exist on this server."""


class CrmServerError(CrmError):
    """Any other error status (500 and friends), or retryable ones after giving up."""


class CrmUnavailableError(CrmError):
    """The server could not be reached, or kept refusing, until retries ran out."""


class CrmWriteUncertainError(CrmError):
    """A write's outcome is unknown: the connection broke after it was sent."""


class CrmProtocolError(CrmError):
    """The response was not JSON, or not the shape the API documents."""


def server_message(body: object) -> str | None:
    """The server's own words from an error body, if it sent any.

    SuperOffice documents `{"Error": true, "ErrorType", "ErrorMessage", "ErrorSource"}`
    (docs/api/api-reference/restful/rest/index.md, "Errors"); ASP.NET itself answers
    `{"Message", "MessageDetail"}`. Both are read, the documented one first.
    """
    if not isinstance(body, dict):
        return None
    parts = [_text(body.get("ErrorMessage"))]
    error_type = _text(body.get("ErrorType"))
    if parts[0] and error_type:
        parts[0] = f"{parts[0]} ({error_type})"
    elif error_type:
        parts[0] = error_type
    parts += [_text(body.get(key)) for key in ("Message", "MessageDetail")]
    return " — ".join(p for p in parts if p) or None


# Keys of an ASP.NET error body; a 2xx body made only of these is an error too.
_ASPNET_ERROR_KEYS = frozenset({"Message", "MessageDetail", "ExceptionMessage", "ExceptionType", "StackTrace"})


def is_error_body(body: object) -> bool:
    """A body that reports a failure even though the status said success
    (docs/api/webapi/agents/index.md: agents answer failures without an error status)."""
    if not isinstance(body, dict) or not body:
        return False
    if body.get("Error") is True:
        return True
    return "Message" in body and set(body) <= _ASPNET_ERROR_KEYS


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


class CrmMovedError(CrmError):
    """307/421: the tenant is served from another host now."""
