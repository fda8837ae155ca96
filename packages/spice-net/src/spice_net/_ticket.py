"""Ticket authentication: RSA-OAEP (SHA-1, MGF1-SHA-1, no label) over ``password + NUL``.

cryptography does the RSA; it is imported when a ticket is first made or checked, so a
client without a password does not pay for loading it.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from spice_proto import ENCRYPTED_TICKET_SIZE, MAX_PASSWORD_LENGTH, TICKET_KEY_PAIR_BITS, TICKET_PUBKEY_BYTES

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["TicketKey", "encrypt_ticket"]


def _oaep() -> padding.OAEP:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


def _password_bytes(password: str) -> bytes:
    raw = password.encode("utf-8")
    if len(raw) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"SPICE passwords are at most {MAX_PASSWORD_LENGTH} bytes, got {len(raw)}")
    if b"\0" in raw:
        raise ValueError("a SPICE password cannot contain a NUL character")
    return raw


def encrypt_ticket(pub_key_der: bytes, password: str) -> bytes:
    """Encrypt ``password`` for the server whose DER public key is ``pub_key_der``.

    Raises ``ValueError`` if the key is not an RSA key or the password too long.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    plain = _password_bytes(password) + b"\0"
    try:
        key = serialization.load_der_public_key(pub_key_der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"server public key is not valid DER: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"server public key is {type(key).__name__}, not RSA")
    return key.encrypt(plain, _oaep())


class TicketKey:
    """A server's per-link RSA key pair."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = private_key
        self.public_der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if len(self.public_der) != TICKET_PUBKEY_BYTES:
            raise ValueError(
                f"public key is {len(self.public_der)} bytes DER, SPICE needs {TICKET_PUBKEY_BYTES}"
            )

    @classmethod
    def generate(cls) -> TicketKey:
        """A fresh 1024-bit key (SPICE fixes the size: the ticket is 128 bytes)."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        return cls(rsa.generate_private_key(public_exponent=65537, key_size=TICKET_KEY_PAIR_BITS))

    def decrypt(self, ciphertext: bytes) -> bytes | None:
        """The password bytes (up to the first NUL), or ``None`` if the ciphertext is not valid."""
        if len(ciphertext) != ENCRYPTED_TICKET_SIZE:
            return None
        try:
            plain = self._key.decrypt(ciphertext, _oaep())
        except ValueError:
            return None
        return plain.split(b"\0", 1)[0]

    def check(self, ciphertext: bytes, password: str) -> bool:
        """Whether ``ciphertext`` carries ``password`` (constant-time comparison)."""
        got = self.decrypt(ciphertext)
        expected = password.encode("utf-8")
        if got is None:
            hmac.compare_digest(expected, expected)  # same work either way
            return False
        return hmac.compare_digest(got, expected)
