"""Passwords on the command line: where they come from, their checks, and keeping them out of output.

A password comes from ``--password``, ``--password-file PATH`` or (``serve``, ``demo``)
``$SPICE_PASSWORD``.  No message of the ``spice`` command ever shows one: errors name
the option or file, never the value, and argparse errors have secret-looking argument
values masked (:func:`mask_argv_secrets`).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence

from spice_proto import MAX_PASSWORD_LENGTH
from spice_session.lowlevel import redact_uri

from ._exitcodes import UsageError

__all__ = [
    "ENV_PASSWORD",
    "add_password_args",
    "check_password",
    "mask_argv_secrets",
    "password_from",
    "password_origin",
    "read_password_file",
]

#: The environment variable ``spice serve`` and ``spice demo`` take a password from.
ENV_PASSWORD = "SPICE_PASSWORD"
_HIDDEN = "***"
# option names that may carry a secret, typos included (--pasword, --passwd, --pw, --ticket);
# --password-file and --password-lifetime carry none
_SECRET_OPTION = re.compile(r"--?[\w-]*(pas|pw|ticket|secret)", re.IGNORECASE)


def add_password_args(p: argparse.ArgumentParser, *, env: bool = False) -> None:
    """``--password`` or ``--password-file``; ``env``: the help mentions ``$SPICE_PASSWORD``."""
    group = p.add_mutually_exclusive_group()
    shown = f"; see also --password-file, ${ENV_PASSWORD}" if env else "; see also --password-file"
    group.add_argument("--password", metavar="P", help=f"the SPICE ticket (visible in ps{shown})")
    group.add_argument(
        "--password-file",
        metavar="PATH",
        help="read the SPICE ticket from PATH (its first line; /dev/stdin works too)",
    )


def check_password(password: str, origin: str) -> str:
    """``password`` if SPICE can carry it; :class:`UsageError` naming ``origin`` (never the value)."""
    try:
        raw = password.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the password from {origin} is not valid UTF-8 text") from None
    if len(raw) > MAX_PASSWORD_LENGTH:
        raise UsageError(
            f"the password from {origin} is {len(raw)} bytes; SPICE allows at most {MAX_PASSWORD_LENGTH}"
        )
    if "\0" in password:
        raise UsageError(f"the password from {origin} contains a NUL character")
    return password


def read_password_file(path: str) -> str:
    """The first line of ``path`` (without its line end), checked; :class:`UsageError` otherwise."""
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
    except OSError as exc:
        raise UsageError(f"cannot read the password file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"the password file {path} is not UTF-8 text") from None
    line = text.splitlines()[0] if text else ""
    if not line:
        raise UsageError(f"the password file {path} starts with an empty line")
    return check_password(line, f"the file {path}")


def password_from(args: argparse.Namespace, *, env: bool = False) -> str | None:
    """The password the options (and, with ``env``, ``$SPICE_PASSWORD``) give, checked; or ``None``."""
    if args.password is not None:
        return check_password(args.password, "--password")
    if args.password_file is not None:
        return read_password_file(args.password_file)
    if env and (value := os.environ.get(ENV_PASSWORD)) is not None:
        return check_password(value, f"${ENV_PASSWORD}")
    return None


def password_origin(args: argparse.Namespace) -> str:
    """Where :func:`password_from` took the password from, for messages."""
    if args.password is not None:
        return "--password"
    if args.password_file is not None:
        return f"--password-file {args.password_file}"
    return f"${ENV_PASSWORD}"


def mask_argv_secrets(message: str, argv: Sequence[str]) -> str:
    """``message`` (built by argparse from ``argv``) with password values and URI secrets masked."""
    secrets: set[str] = set()
    for i, word in enumerate(argv):
        if "://" in word and (shown := redact_uri(word)) != word:
            message = message.replace(word, shown)
        name, equals, value = word.partition("=")
        if _SECRET_OPTION.match(name) and not name.endswith(("-file", "-lifetime")):
            if equals:
                secrets.add(value)
            elif i + 1 < len(argv):
                secrets.add(argv[i + 1])
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        whole_word = rf"(?<![^\s'\"=,]){re.escape(secret)}(?![^\s'\",])"
        message = re.sub(whole_word, _HIDDEN, message)
    return message
