"""Where a browser may be sent after sign-in: a path on this site, and nothing else (issue 17
item 1).

A check of the raw `next` value is not enough, because the browser does not follow the raw
value: the WHATWG URL parser every browser uses drops tab, CR and LF anywhere in a URL, trims
leading and trailing control characters and spaces, and reads `\\` as `/` in http(s) URLs. So
`/\\t/evil.example` reaches the browser as `//evil.example`, another host. `safe_next` first
normalises the value the way the browser will, then accepts only a path-absolute reference
(one `/`, never two), and returns that normalised, percent-encoded form: what was checked is
exactly what is sent in `Location`, and a header can never carry a control character.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

# WHATWG URL standard: "remove all ASCII tab or newline", "strip leading and trailing C0
# control or space".
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
# Kept as they are when re-encoding: reserved characters and existing %XX escapes.
_SAFE = "/?#[]@!$&'()*+,;=:%~-._"
MAX_LENGTH = 2048


def normalise(target: str) -> str:
    """`target` as a browser parses it (the part of that parsing that changes which host)."""
    value = _TAB_OR_NEWLINE.sub("", target).strip(_C0_OR_SPACE)
    return value.replace("\\", "/")


def safe_next(target: object, default: str = "") -> str:
    """`target` if it names a page on this site (normalised and encoded), else `default`."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return default
    value = normalise(target)
    if any(not ch.isprintable() for ch in value):  # NUL, DEL, other controls: never a path
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default  # relative, scheme-relative (another host) or absolute with a scheme
    # A path whose escapes decode to another host's reference is refused too: some proxies
    # and servers decode `%2F` and `%5C` before the browser sees the address again.
    decoded = normalise(unquote(value))
    if decoded.startswith("//") or any(not ch.isprintable() for ch in decoded):
        return default
    encoded = quote(value, safe=_SAFE)
    parts = urlsplit(encoded)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    return encoded


__all__ = ["normalise", "safe_next"]
