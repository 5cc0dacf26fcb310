"""Links that Postsales stores and renders: absolute http and https URLs only (issue 17 item 6).

A tracking link or a product image URL comes from outside (a warehouse message, a catalog
message, a web store's order, an agent's form) and ends up in an `href` or a `src`. Checked
where it enters, one rule for every door: the scheme is http or https, there is a host, and
only the characters RFC 3986 allows appear (no spaces, quotes, angle brackets or control
characters, which break out of an attribute), with well-formed %-escapes. Non-ASCII must be
%-encoded (or the host given in its IDNA `xn--` form). Templates render nothing else as a
link, so a value stored before this check is shown as text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import BadInput

LINK_MAX = 512  # the columns' width (shipments.tracking_link, *.image_url)
SCHEMES = ("http", "https")
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def link_problem(value: str) -> str | None:
    """Why `value` is not a link Postsales accepts, or None when it is one."""
    if len(value) > LINK_MAX:
        return f"at most {LINK_MAX} characters"
    if not _URL_CHARS.fullmatch(value):
        bad = next((c for c in value if not _URL_CHARS.fullmatch(c)), " ")
        shown = f"{bad} " if bad.isprintable() and not bad.isspace() else ""
        return (
            f"not a URL: the character {shown}(U+{ord(bad):04X}) is not allowed in one "
            "(spaces, quotes, angle brackets and non-ASCII characters must be %-encoded)"
        )
    if _BAD_ESCAPE.search(value):
        return "not a URL: % must start a two-digit hexadecimal escape"
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme.lower() not in SCHEMES:
        return "only http and https links are accepted"
    if not host:
        return "an http or https URL needs a host, as in https://tracking.example.com/…"
    return None


def is_web_link(value: object) -> bool:
    """True for a value that may be rendered as a link (templates use it for stored values)."""
    return isinstance(value, str) and bool(value) and link_problem(value) is None


def check_link(value: str, field: str) -> str:
    """`value` if it is empty or an accepted link; otherwise BadInput naming `field`."""
    if value:
        problem = link_problem(value)
        if problem:
            raise BadInput(f"{field}: {problem}", field=field)
    return value


__all__ = ["LINK_MAX", "check_link", "is_web_link", "link_problem"]
