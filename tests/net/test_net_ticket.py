"""The client's ticket encryption (RSA-OAEP, SHA-1) against the server's key pairs: every
password decrypts to itself, and a public key that is not a well-formed RSA
SubjectPublicKeyInfo raises ValueError, never another error."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from spice_net.lowlevel import TicketKey, encrypt_ticket
from spice_proto import ENCRYPTED_TICKET_SIZE, MAX_PASSWORD_LENGTH


@pytest.fixture(scope="module")
def key() -> TicketKey:
    return TicketKey.generate()


@pytest.mark.parametrize("password", ["", "secret", "pässwörd ✓", "x" * MAX_PASSWORD_LENGTH])
def test_the_server_decrypts_what_the_client_encrypts(key: TicketKey, password: str) -> None:
    ticket = encrypt_ticket(key.public_der, password)
    assert len(ticket) == ENCRYPTED_TICKET_SIZE
    assert key.decrypt(ticket) == password.encode()
    assert key.check(ticket, password) and not key.check(ticket, password + "!")


def test_each_ticket_is_padded_afresh(key: TicketKey) -> None:
    assert encrypt_ticket(key.public_der, "secret") != encrypt_ticket(key.public_der, "secret")


def test_a_larger_rsa_key_works_too() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ticket = encrypt_ticket(der, "secret")
    assert len(ticket) == 256
    sha1 = hashes.SHA1()
    plain = private.decrypt(
        ticket, padding.OAEP(mgf=padding.MGF1(algorithm=sha1), algorithm=sha1, label=None)
    )
    assert plain == b"secret\0"


def test_passwords_too_long_or_with_nul_are_refused(key: TicketKey) -> None:
    with pytest.raises(ValueError, match="at most"):
        encrypt_ticket(key.public_der, "x" * (MAX_PASSWORD_LENGTH + 1))
    with pytest.raises(ValueError, match="NUL"):
        encrypt_ticket(key.public_der, "a\0b")


def test_a_key_that_is_not_rsa_is_refused() -> None:
    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="not RSA"):
        encrypt_ticket(der, "secret")


def test_every_damaged_key_raises_value_error(key: TicketKey) -> None:
    der = key.public_der
    damaged = [der[:cut] for cut in range(len(der))]  # every truncation
    damaged += [der + b"\0", b"", b"\x30\x80" + der[2:], bytes(len(der))]
    damaged += [der[:i] + bytes([der[i] ^ 0xFF]) + der[i + 1 :] for i in range(40)]  # the header bytes
    for bad in damaged:
        try:
            encrypt_ticket(bad, "secret")
        except ValueError:
            continue
        # a flipped byte inside the modulus or exponent still makes some RSA key: then the
        # ticket is simply not one this server decrypts
        assert key.decrypt(encrypt_ticket(bad, "secret")) != b"secret"
