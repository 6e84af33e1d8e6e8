"""References in config values: `${env:NAME}`, `${file:path}`, `${var:NAME}`, `$${` for a literal `${`.

A reference may sit anywhere in a string ("Bearer ${env:TOKEN}"). A value that
used an env or file reference becomes `Sensitive`; errors name the reference,
never a value. `${var:NAME}` takes a per-target variable from reconcile.yaml:
those are plain settings, not secrets, so a value made of text and variables only
stays a plain string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.diagnostics import did_you_mean
from reconciler.manifest.files import ReadFailed, display_path, read_text
from reconciler.secrets import Sensitive

MAX_SECRET_FILE_BYTES = 1024 * 1024
SCHEMES = ("env", "file", "var")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ReferenceProblem:
    message: str
    hint: str | None = None
    # An unset or empty ${env:} variable or an absent ${file:} secret: a secret this machine
    # does not have, which `validate` tolerates (a laptop, pre-commit) and plan/apply do not.
    unavailable: bool = False


class BadReference(Exception):
    def __init__(self, problem: ReferenceProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Reference:
    scheme: str
    argument: str

    def __str__(self) -> str:
        return f"${{{self.scheme}:{self.argument}}}"


def parse_template(template: str) -> list[_Literal | _Reference]:
    """Split a string into literal text and references; raise BadReference on a malformed `${`."""
    if "$" not in template:  # nearly every value: nothing to split
        return [_Literal(template)] if template else []
    parts: list[_Literal | _Reference] = []
    literal: list[str] = []
    i = 0
    while i < len(template):
        if template.startswith("$${", i):
            literal.append("${")
            i += 3
        elif template.startswith("${", i):
            end = template.find("}", i + 2)
            if end < 0:
                raise BadReference(
                    ReferenceProblem(
                        f"unterminated reference '{_clip(template[i:])}'",
                        "close it with '}', or write '$${' for a literal '${'",
                    )
                )
            parts.append(_Literal("".join(literal)))
            literal = []
            parts.append(_parse_reference(template[i : end + 1]))
            i = end + 1
        else:
            literal.append(template[i])
            i += 1
    parts.append(_Literal("".join(literal)))
    return [p for p in parts if not (isinstance(p, _Literal) and not p.text)]


def _parse_reference(text: str) -> _Reference:
    body = text[2:-1]
    scheme, colon, argument = body.partition(":")
    if not colon or scheme not in SCHEMES:
        close = did_you_mean(scheme, SCHEMES) if colon else None
        if close:
            fixed = "${" + close.split("'")[1] + ":" + argument + "}"
            hint = f"did you mean '{fixed}'?"
        else:
            hint = "use ${env:NAME} or ${file:path}; write '$${' for a literal '${'"
        raise BadReference(ReferenceProblem(f"unknown reference '{_clip(text)}'", hint))
    if scheme in ("env", "var") and not _ENV_NAME.match(argument):
        raise BadReference(
            ReferenceProblem(
                f"invalid {'environment ' if scheme == 'env' else ''}variable name in '{_clip(text)}'",
                "names are letters, digits and '_', not starting with a digit",
            )
        )
    if scheme == "file" and not argument.strip():
        raise BadReference(ReferenceProblem(f"empty file path in '{text}'"))
    return _Reference(scheme, argument)


def resolve(
    template: str,
    *,
    manifest_dir: Path,
    env: Mapping[str, str],
    variables: Mapping[str, str] | None = None,
) -> str | Sensitive:
    """The value of a config string: plain str unless it used an env or file reference.

    `variables` are the selected target's `vars` (None: no target selected)."""
    parts = parse_template(template)
    values: list[str] = []
    secret = False
    for part in parts:
        if isinstance(part, _Literal):
            values.append(part.text)
        elif part.scheme == "var":
            values.append(_var(part, variables))
        elif part.scheme == "env":
            values.append(_env(part, env))
            secret = True
        else:
            values.append(_file(part, manifest_dir))
            secret = True
    text = "".join(values)
    return Sensitive(text, reference=template) if secret else text


def _var(ref: _Reference, variables: Mapping[str, str] | None) -> str:
    if variables is None:
        raise BadReference(
            ReferenceProblem(
                f"'{ref}' needs a target: no reconcile.yaml target is selected",
                "pass --target NAME, or set defaultTarget in reconcile.yaml",
            )
        )
    if ref.argument not in variables:
        hint = did_you_mean(ref.argument, sorted(variables)) or (
            f"define it under the target's 'vars:' in reconcile.yaml"
        )
        raise BadReference(ReferenceProblem(f"unknown variable '{ref.argument}' (from '{ref}')", hint))
    return variables[ref.argument]


def _env(ref: _Reference, env: Mapping[str, str]) -> str:
    if ref.argument not in env:
        close = did_you_mean(ref.argument, [name for name in env if _ENV_NAME.match(name)])
        hint = close or f"set {ref.argument} in the environment; in CI, from the secret store"
        raise BadReference(
            ReferenceProblem(f"environment variable {ref.argument} is not set (from '{ref}')", hint, unavailable=True)
        )
    value = env[ref.argument]
    if value == "":
        # An unset CI secret usually arrives as an empty string.
        raise BadReference(
            ReferenceProblem(
                f"environment variable {ref.argument} is empty (from '{ref}')",
                "check that the secret is defined where the variable is set",
                unavailable=True,
            )
        )
    return value


# Kernel views, not files: /proc/self/environ would hand every variable of this process
# (every credential) to a connector as a "secret".
REFUSED_ROOTS = (Path("/proc"), Path("/sys"))


def _kernel_view(path: Path) -> Path | None:
    """The refused root that `path` (after symlinks) lies in, or None."""
    real = Path(os.path.realpath(path))
    return next((root for root in REFUSED_ROOTS if real == root or root in real.parents), None)


def _file(ref: _Reference, manifest_dir: Path) -> str:
    # `~` and `~user` are home directories (as in a shell); anything else relative is
    # relative to the manifest's directory.
    try:
        path = manifest_dir / Path(ref.argument).expanduser()
    except RuntimeError:  # ~user of an unknown user, or no home directory
        raise BadReference(ReferenceProblem(
            f"cannot find the home directory that '~' names in '{ref}'",
            "give the path relative to the manifest file, or an absolute one",
        )) from None
    shown = display_path(path)
    root = _kernel_view(path)
    if root is not None:
        raise BadReference(ReferenceProblem(
            f"secret file is in {root}, which holds kernel and process state, not secrets: {shown} (from '{ref}')",
            "put the secret in a file of its own, or use ${env:NAME}",
        ))
    try:
        _, text = read_text(path, shown, limit=MAX_SECRET_FILE_BYTES, what="secret file")
    except ReadFailed as exc:
        problem = exc.diagnostic.message.replace(f"{shown}: ", "", 1)
        raise BadReference(
            ReferenceProblem(
                f"{problem}: {shown} (from '{ref}')",
                exc.diagnostic.hint or "paths are relative to the manifest file",
                unavailable=not path.exists() and not path.is_symlink(),
            )
        ) from None
    # Editors end files with a newline; the secret is the line, not the line break.
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if text == "":
        raise BadReference(ReferenceProblem(f"secret file is empty: {shown} (from '{ref}')"))
    return text


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
