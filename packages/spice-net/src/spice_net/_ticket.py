"""Ticket authentication: RSA-OAEP (SHA-1, MGF1-SHA-1, no label) over ``password + NUL``.

The client's side (:func:`encrypt_ticket`) is RFC 8017's RSAES-OAEP-ENCRYPT on the standard
library: importing cryptography for it cost a client 15-25 ms of start-up.  The server's key
pairs (:class:`TicketKey`) use cryptography.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from spice_proto import ENCRYPTED_TICKET_SIZE, MAX_PASSWORD_LENGTH, TICKET_KEY_PAIR_BITS, TICKET_PUBKEY_BYTES

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["TicketKey", "encrypt_ticket"]

#: DER of the rsaEncryption algorithm OID (1.2.840.113549.1.1.1).
_RSA_OID = bytes.fromhex("06092a864886f70d010101")
_SHA1_LEN = 20


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


def _der(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """The (start, end) of the contents of the DER element with ``tag`` at ``pos``."""
    if pos + 2 > end or data[pos] != tag:
        raise ValueError(f"server public key is not valid DER: expected tag {tag:#04x} at offset {pos}")
    length, pos = data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > end:
            raise ValueError(f"server public key is not valid DER: bad length at offset {pos - 1}")
        length, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
    if pos + length > end:
        raise ValueError(f"server public key is not valid DER: element at offset {pos} runs past the end")
    return pos, pos + length


def _rsa_public_key(der: bytes) -> tuple[int, int]:
    """(modulus, exponent) of a DER SubjectPublicKeyInfo holding an RSA key (ValueError otherwise)."""
    start, end = _der(der, 0, len(der), 0x30)
    if end != len(der):
        raise ValueError("server public key is not valid DER: bytes after the key")
    alg_start, alg_end = _der(der, start, end, 0x30)
    algorithm = der[alg_start:alg_end]
    if not algorithm.startswith(_RSA_OID):
        raise ValueError("server public key is not RSA")
    if algorithm not in (_RSA_OID, _RSA_OID + b"\x05\x00"):  # parameters: NULL or absent
        raise ValueError("server public key is not valid DER: bad RSA algorithm parameters")
    bits_start, bits_end = _der(der, alg_end, end, 0x03)
    if bits_end != end or bits_start == bits_end or der[bits_start] != 0:
        raise ValueError("server public key is not valid DER: bad BIT STRING")
    key_start, key_end = _der(der, bits_start + 1, bits_end, 0x30)
    n_start, n_end = _der(der, key_start, key_end, 0x02)
    e_start, e_end = _der(der, n_end, key_end, 0x02)
    n = int.from_bytes(der[n_start:n_end], "big", signed=True)
    e = int.from_bytes(der[e_start:e_end], "big", signed=True)
    if n <= 0 or e < 3 or e >= n:
        raise ValueError("server public key is not a usable RSA key")
    return n, e


def _mgf1(seed: bytes, length: int) -> bytes:
    blocks = (length + _SHA1_LEN - 1) // _SHA1_LEN
    return b"".join(hashlib.sha1(seed + i.to_bytes(4, "big")).digest() for i in range(blocks))[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def encrypt_ticket(pub_key_der: bytes, password: str) -> bytes:
    """Encrypt ``password`` for the server whose DER public key is ``pub_key_der``.

    Raises ``ValueError`` if the key is not an RSA key or the password too long.
    """
    message = _password_bytes(password) + b"\0"
    n, e = _rsa_public_key(pub_key_der)
    k = (n.bit_length() + 7) // 8
    if len(message) > k - 2 * _SHA1_LEN - 2:
        raise ValueError(f"server public key of {n.bit_length()} bits is too small for the ticket")
    db = hashlib.sha1(b"").digest() + bytes(k - len(message) - 2 * _SHA1_LEN - 2) + b"\1" + message
    seed = os.urandom(_SHA1_LEN)
    masked_db = _xor(db, _mgf1(seed, k - _SHA1_LEN - 1))
    masked_seed = _xor(seed, _mgf1(masked_db, _SHA1_LEN))
    encoded = int.from_bytes(b"\0" + masked_seed + masked_db, "big")
    return pow(encoded, e, n).to_bytes(k, "big")


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
