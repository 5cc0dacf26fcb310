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

Keys come from `POSTSALES_BILLING_KEY` (one or more base64url 32-byte keys separated by commas
or spaces, the first one current), else from the file named by `POSTSALES_BILLING_KEY_FILE`,
else `var/billing.key` (one key a line, the first current), created with mode 0600 on first use.
"""

from __future__ import annotations

import base64
import functools
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

from .errors import PostsalesError

KEY_ENV = "POSTSALES_BILLING_KEY"
KEY_FILE_ENV = "POSTSALES_BILLING_KEY_FILE"
DEFAULT_KEY_FILE = Path("var") / "billing.key"
_DEFAULT_KEY_FILE = str(DEFAULT_KEY_FILE)
PREFIX = "b1"

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


class BillingKeyError(PostsalesError):
    """A billing key is missing, malformed, or not the one a stored value needs."""


def new_key() -> str:
    """A fresh random key in the format `POSTSALES_BILLING_KEY` and `var/billing.key` take."""
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

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise BillingKeyError("no billing key configured")
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
        nonce = secrets.token_bytes(12)
        sealed = self._aead[self.current_id].encrypt(nonce, plain.encode(), order_id.encode())
        value = f"{PREFIX}.{self.current_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"
        self._remember(order_id, plain, value)
        return value

    def decrypt(self, order_id: str, value: str, *, remember: bool = True) -> dict[str, Any]:
        """The address; `remember=False` for reads that never save (search, export)."""
        try:
            prefix, kid, body = value.split(".", 2)
        except ValueError:
            prefix, kid, body = "", "", ""
        if prefix != PREFIX:
            raise BillingKeyError(f"order {order_id}: the stored billing address is not readable")
        aead = self._aead.get(kid)
        if aead is None:
            raise BillingKeyError(
                f"order {order_id}: the billing address was encrypted with key {kid}, which is "
                f"not among the configured billing keys ({KEY_ENV} or {DEFAULT_KEY_FILE})"
            )
        raw = base64.urlsafe_b64decode(body)
        try:
            plain = aead.decrypt(raw[:12], raw[12:], order_id.encode()).decode()
        except InvalidTag:
            raise BillingKeyError(
                f"order {order_id}: the billing address does not decrypt (wrong key or a value "
                "copied from another order)"
            ) from None
        if remember:
            self._remember(order_id, plain, value)
        return dict(json.loads(plain))

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


def _keys_from_text(text: str, where: str) -> list[bytes]:
    return [_decode_key(part, where) for part in re.split(r"[\s,]+", text.strip()) if part]


def _key_file() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)


def _read_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key() + "\n")
    return path.read_text()


@functools.lru_cache(maxsize=8)
def _cipher_for(env_value: str | None, file: str) -> BillingCipher:
    if env_value:
        return BillingCipher(_keys_from_text(env_value, KEY_ENV))
    path = Path(file)
    return BillingCipher(_keys_from_text(_read_or_create(path), str(path)))


def billing_cipher() -> BillingCipher:
    """The cipher for the keys configured now (environment first, then the key file).

    Called once per order row written or read, so it only looks at the environment."""
    env_value = os.environ.get(KEY_ENV)
    file = "" if env_value else os.environ.get(KEY_FILE_ENV) or _DEFAULT_KEY_FILE
    return _cipher_for(env_value, file)


def forget_keys() -> None:
    """Drop cached keys (after a rotation, or in tests that change the environment)."""
    _cipher_for.cache_clear()


def address_tokens(address: Mapping[str, Any] | None) -> list[int]:
    return billing_cipher().address_tokens(address)


def rotate_file(path: Path | None = None) -> str:
    """Put a new current key at the top of the key file, keeping the old ones for decryption.

    Returns the new key id. Re-encrypting the stored addresses (and re-hashing the blind index)
    is `reencrypt_all` in `core.search.billing`, run by `postsales orders rekey-billing`.
    """
    path = path or _key_file()
    old = _read_or_create(path).strip().splitlines() if path.exists() else []
    key = new_key()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join([key, *old]) + "\n")
    os.replace(tmp, path)
    forget_keys()
    return key_id(_decode_key(key, str(path)))
