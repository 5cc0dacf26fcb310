"""Billing addresses encrypted at rest, and searchable only through a keyed blind index (S-6).

- **Encryption**: AES-256-GCM (the `cryptography` package) with a random 96-bit nonce and the
  order id as associated data, so a ciphertext cannot be moved to another order's row. The
  stored value is `b1.<key id>.<base64url(nonce + ciphertext)>`; the key id (8 hex digits of the
  key's SHA-256) says which key decrypts it, so old keys keep working during a rotation.
- **Blind index**: each normalised word of the address (lower case, accents folded, split on
  anything that is not a letter or digit) is hashed with HMAC-SHA256 under a key derived from the
  current key, truncated to a signed 64-bit integer. Searching hashes the words typed the same
  way and looks for orders holding every hash: whole-word, exact matches only, never plaintext.
  A blind index leaks equality (two orders whose addresses share a word share that hash) and the
  number of words; see docs/search.md.

- **Sealed values**: other billing data at rest (an API response kept for replay, a refused
  message's billing address, an outbound message that carries one) is sealed the same way with
  `seal(context, text)`; the context (what the value is and where it belongs) is the associated
  data, so a sealed value cannot be moved to another use or row.

Keys come from `POSTSALES_BILLING_KEY` (one or more base64url 32-byte keys separated by commas
or spaces, the first one current), else from a key file (one key a line, the first current):
which file is the database's business (`core.persistence.keys`: beside a SQLite database, or
`POSTSALES_BILLING_KEY_FILE`), never a path relative to where a command runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import BadInput

KEY_ENV = "POSTSALES_BILLING_KEY"
KEY_FILE_ENV = "POSTSALES_BILLING_KEY_FILE"
PREFIX = "b1"
SEALED = "$sealed"  # the key of a JSON object standing for a sealed value: {"$sealed": "b1..."}

# The address fields that are tokenised for the blind index (not phone or email: those are
# searched through the customer's own normalised columns).
TOKEN_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "country_code",
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class BillingKeyError(BadInput):
    """A billing key is missing, malformed, or not the one a stored value needs (exit 2: the
    configuration is wrong, and nothing is changed)."""


def new_key() -> str:
    """A fresh random key in the format `POSTSALES_BILLING_KEY` and key files take."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _decode_key(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise BillingKeyError(
            f"{where}: a billing key is 32 random bytes in base64url (44 characters)"
        )
    return raw


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def words(text: str) -> list[str]:
    """The normalised words of a text: lower case, accents folded, letters and digits only."""
    if text.isascii():
        return _WORD.findall(text.lower())
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(plain)


class BillingCipher:
    """Encrypts and decrypts billing addresses and computes their blind-index hashes."""

    def __init__(self, keys: list[bytes], where: str = KEY_ENV) -> None:
        if not keys:
            raise BillingKeyError(f"no billing key in {where}")
        self.where = where  # where the keys came from, for error messages
        self.keys = {key_id(k): k for k in keys}
        self.current_id = key_id(keys[0])
        self._aead = {kid: AESGCM(k) for kid, k in self.keys.items()}
        self._mac_key = hmac.new(keys[0], b"postsales billing blind index v1", "sha256").digest()
        # A decrypted value re-encrypts to the ciphertext it came from, so saving an unchanged
        # order does not rewrite its billing column (the unit of work diffs rows). Bounded.
        self._recent: dict[tuple[str, str], str] = {}
        self._hashes: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- encryption --------------------------------------------------------------------------
    def encrypt(self, order_id: str, address: Mapping[str, Any]) -> str:
        plain = json.dumps(address, separators=(",", ":"), sort_keys=True)
        cached = self._recent.get((order_id, plain))
        if cached is not None and cached.split(".", 2)[1] == self.current_id:
            return cached
        value = self._seal(order_id.encode(), plain)
        self._remember(order_id, plain, value)
        return value

    def decrypt(self, order_id: str, value: str, *, remember: bool = True) -> dict[str, Any]:
        """The address; `remember=False` for reads that never save (search, export)."""
        plain = self._open(order_id.encode(), value, f"order {order_id}: the billing address")
        if remember:
            self._remember(order_id, plain, value)
        return dict(json.loads(plain))

    def seal(self, context: str, text: str) -> str:
        """`text` encrypted under the current key, bound to `context` (e.g. "outbox\x00<id>").

        Contexts hold a NUL and order ids never do, so a sealed value cannot pass for an
        order's billing address or the reverse."""
        return self._seal(_context(context), text)

    def unseal(self, context: str, value: str) -> str:
        return self._open(_context(context), value, f"a sealed {context.split(chr(0))[0]} value")

    def seal_json(self, context: str, value: Any) -> dict[str, str]:
        """A JSON value sealed as `{"$sealed": "b1.…"}` (for JSON columns)."""
        return {SEALED: self.seal(context, json.dumps(value, separators=(",", ":")))}

    def unseal_json(self, context: str, value: Any) -> Any:
        """The value `seal_json` sealed; anything else (a row written before) as it is."""
        if is_sealed(value):
            return json.loads(self.unseal(context, value[SEALED]))
        return value

    def _seal(self, aad: bytes, plain: str) -> str:
        nonce = secrets.token_bytes(12)
        # surrogatepass: a dead letter's text may hold a lone surrogate; it opens as it was.
        sealed = self._aead[self.current_id].encrypt(
            nonce, plain.encode("utf-8", "surrogatepass"), aad
        )
        return f"{PREFIX}.{self.current_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def _open(self, aad: bytes, value: str, what: str) -> str:
        try:
            prefix, kid, body = value.split(".", 2)
        except ValueError:
            prefix, kid, body = "", "", ""
        if prefix != PREFIX:
            raise BillingKeyError(f"{what} is not readable")
        aead = self._aead.get(kid)
        if aead is None:
            raise BillingKeyError(
                f"{what} was encrypted with billing key {kid}, which is not among the keys "
                f"from {self.where} ({', '.join(self.keys)})"
            )
        raw = base64.urlsafe_b64decode(body)
        try:
            return aead.decrypt(raw[:12], raw[12:], aad).decode("utf-8", "surrogatepass")
        except InvalidTag:
            raise BillingKeyError(
                f"{what} does not decrypt (wrong key, or a value copied from another place)"
            ) from None

    def _remember(self, order_id: str, plain: str, value: str) -> None:
        with self._lock:
            if len(self._recent) >= 4096:
                self._recent.pop(next(iter(self._recent)))
            self._recent[(order_id, plain)] = value

    # -- blind index -------------------------------------------------------------------------
    def token_hash(self, word: str) -> int:
        cached = self._hashes.get(word)
        if cached is None:
            digest = hmac.new(self._mac_key, word.encode(), "sha256").digest()
            cached = int.from_bytes(digest[:8], "big", signed=True)
            if len(self._hashes) >= 100_000:  # words repeat (cities, streets, names): bounded
                self._hashes.clear()
            self._hashes[word] = cached
        return cached

    def address_tokens(self, address: Mapping[str, Any] | None) -> list[int]:
        """The distinct blind-index hashes of an address's words."""
        if not address:
            return []
        seen: set[str] = set()
        for field in TOKEN_FIELDS:
            seen.update(words(str(address.get(field) or "")))
        return sorted(self.token_hash(w) for w in seen)

    def query_tokens(self, text: str) -> list[int]:
        """The hashes a billing-address search must all find, in the order typed."""
        return [self.token_hash(w) for w in dict.fromkeys(words(text))]


def _context(context: str) -> bytes:
    return ("\x00" + context).encode()


def is_sealed(value: Any) -> bool:
    """A `{"$sealed": "b1.…"}` object, as `seal_json` makes."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED), str)


def sealed_key_id(value: str) -> str | None:
    """The key id of a stored `b1.<key id>.<data>` value."""
    parts = value.split(".", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None


def keys_from_text(text: str, where: str) -> list[bytes]:
    """The keys of `POSTSALES_BILLING_KEY` or of a key file's text (the first one current)."""
    return [_decode_key(part, where) for part in re.split(r"[\s,]+", text.strip()) if part]


def create_key_file(path: Path) -> None:
    """Write a new key to `path` (mode 0600). O_EXCL: two processes starting at once must not
    each write a different key; the one that loses reads the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key() + "\n")


def rotate_file(path: Path) -> str:
    """Put a new current key at the top of the key file, keeping the old ones for decryption.

    Returns the new key id. Re-encrypting the stored addresses (and re-hashing the blind index)
    is `reencrypt_all` in `core.search.billing`, run by `postsales orders rekey-billing`.
    """
    old = path.read_text().strip().splitlines() if path.exists() else []
    key = new_key()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join([key, *old]) + "\n")
    os.replace(tmp, path)
    return key_id(_decode_key(key, str(path)))
