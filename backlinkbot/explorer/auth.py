"""The explorer's API token: where it comes from and how a request shows it.

``BACKLINKBOT_API_TOKEN_FILE`` (a container secret; wins) or
``BACKLINKBOT_API_TOKEN``. A request carries it as ``Authorization: Bearer
TOKEN``, or as the password of HTTP Basic authentication (any user name),
which is how a browser asks for it. Tokens are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Mapping

from backlinkbot.safety.secrets import read_secret_file

__all__ = ["MIN_TOKEN_LENGTH", "presented_token", "token_from_env", "token_matches"]

#: A shorter token is refused at start: it could be guessed.
MIN_TOKEN_LENGTH = 16


def token_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The configured token, or None. A token shorter than
    ``MIN_TOKEN_LENGTH`` is a startup error."""
    environ = os.environ if environ is None else environ
    if environ.get("BACKLINKBOT_API_TOKEN_FILE"):
        token = read_secret_file(environ["BACKLINKBOT_API_TOKEN_FILE"])
    else:
        token = (environ.get("BACKLINKBOT_API_TOKEN") or "").strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise RuntimeError(f"the API token must have at least {MIN_TOKEN_LENGTH} characters")
    return token


def presented_token(authorization: str | None) -> str | None:
    """The token an ``Authorization`` header carries (Bearer, or Basic's
    password), or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer":
        return value or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def token_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison (its time does not depend on where the
    texts first differ)."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))
