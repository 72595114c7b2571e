"""Camera URLs: which ones we open, and how to show them without their secrets.

A camera URL often carries a password (``rtsp://admin:secret@10.0.0.7/stream1``) or a
token in its query (``?user=admin&password=secret``). Nothing that seuil logs, raises or
shows may contain it: :func:`mask_url` hides the user information and secret-looking
query values, and :func:`scrub` removes a URL and its password from any text (an
FFmpeg error message quotes the URL it failed to open).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from seuil.domain.errors import ConfigurationError

__all__ = ["NETWORK_SCHEMES", "mask_url", "scrub", "validate_camera_url"]

NETWORK_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
MASK = "***"
_SECRET_KEYS = re.compile(r"pass|pwd|secret|token|key|auth|sig|cred", re.IGNORECASE)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@")


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def mask_url(url: str) -> str:
    """``url`` with its user information and secret-looking query values replaced by ***."""
    parts = _split(url)
    if parts is None:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_KEYS.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _secrets(url: str) -> list[str]:
    parts = _split(url)
    if parts is None:
        return [url]
    found: list[str] = []
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_KEYS.search(key) and value:
            found.append(value)
    return [s for s in found if len(s) >= 3]


def scrub(text: str, url: str | None = None) -> str:
    """``text`` without ``url``'s secrets nor the user information of any URL in it."""
    if url:
        text = text.replace(url, mask_url(url))
        for secret in sorted(_secrets(url), key=len, reverse=True):
            text = text.replace(secret, MASK)
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def validate_camera_url(url: str) -> str:
    """The URL's scheme, once checked: rtsp, rtsps, http or https with a host.

    Raises :class:`ConfigurationError` (whose message shows the masked URL) otherwise:
    FFmpeg would also open ``file:``, ``concat:`` and other local protocols, which a
    camera URL has no business naming.
    """
    parts = _split(url)
    scheme = parts.scheme.lower() if parts else ""
    if parts is None or scheme not in NETWORK_SCHEMES or not parts.hostname:
        raise ConfigurationError(
            f"camera URL {mask_url(url)!r} is not an rtsp://, rtsps://, http:// or https:// "
            "URL with a host"
        )
    return scheme
