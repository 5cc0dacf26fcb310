"""Key rotation for S-6: re-encrypt every billing address with the current key and rebuild its
blind index (the hashes are keyed too, so they change with the key).

Run after putting a new key first (`postsales orders rekey-billing --new-key` does both for the
key file); older keys stay configured until this has finished, so reads never fail midway.
Orders are rewritten in batches, each its own transaction, oldest first; running it twice is
harmless.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update

from ..bootstrap import Postsales
from ..crypto import BillingKeyError, rotate_file
from ..persistence import tables as T
from ..persistence.keys import billing_key_file, cipher_for, forget_keys
from ..persistence.rows import billing_plaintext

o = T.orders.c


def new_billing_key(app: Postsales) -> str:
    """Put a new current key first in this database's key file; returns its id. The keys the
    database holds data under are checked first, so a rotation never starts from a wrong file."""
    cipher_for(app.engine)
    path = billing_key_file(app.engine)
    if path is None:
        raise BillingKeyError("no billing key file for this database: see docs/deploy.md")
    kid = rotate_file(path)
    forget_keys()
    return kid


def reencrypt_all(app: Postsales, *, batch: int = 1000) -> int:
    """Re-encrypt and re-index every stored billing address; returns how many."""
    forget_keys()
    cipher = cipher_for(app.engine)
    done = 0
    last = 0
    stored = or_(o.billing_address_enc.is_not(None), o.billing_index.is_not(None))
    while True:
        with app.uow() as uow:
            rows = uow.conn.execute(
                select(o.seq, o.id, o.billing_address_enc, o.billing_address)
                .where(o.seq > last, stored)
                .order_by(o.seq)
                .limit(batch)
            ).all()
            if not rows:
                return done
            for row in rows:
                plain = billing_plaintext(
                    row.id, row.billing_address_enc, row.billing_address, lambda: cipher
                )
                uow.conn.execute(
                    update(T.orders)
                    .where(o.seq == row.seq)
                    .values(
                        billing_address=None,
                        billing_address_enc=cipher.encrypt(row.id, plain) if plain else None,
                        billing_index=cipher.address_tokens(plain),
                    )
                )
                done += 1 if plain else 0
            uow.commit()
            last = rows[-1].seq
