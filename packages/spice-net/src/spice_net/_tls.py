"""TLS contexts, and the SPICE host-subject check.

SPICE clients can pin the server certificate's subject instead of checking
the hostname: a string like ``"C=IL, L=Raanana, O=Red Hat, CN=my server"``.
The rule (as spice-common applies it): entries are ``key=value`` separated by
``,``; ``\\,`` and ``\\\\`` escape; spaces before a key are skipped.  The
certificate subject must have the same number of entries, in the same order,
with equal attribute types, values compared case-insensitively with leading,
trailing and repeated inner whitespace ignored (OpenSSL's canonical form).
Checked against spice-gtk 0.42 (spicy --spice-host-subject): reordered
entries are refused, changed case and spacing are accepted.
"""

from __future__ import annotations

import re
import ssl
from functools import cache
from typing import TYPE_CHECKING

from ._errors import TLSVerificationFailed

if TYPE_CHECKING:  # cryptography.x509 is imported when a subject is checked (~20 ms of start-up)
    from cryptography import x509
    from cryptography.x509.oid import ObjectIdentifier

__all__ = [
    "SpiceSSLContext",
    "client_ssl_context",
    "parse_host_subject",
    "server_ssl_context",
    "verify_host_subject",
]


@cache
def _names() -> dict[str, ObjectIdentifier]:
    """The attribute keys a host subject may use (lower case), with their OIDs."""
    from cryptography.x509.oid import NameOID

    names: dict[str, ObjectIdentifier] = {}
    for oid, aliases in [
        (NameOID.COUNTRY_NAME, ("C", "countryName")),
        (NameOID.STATE_OR_PROVINCE_NAME, ("ST", "S", "stateOrProvinceName")),
        (NameOID.LOCALITY_NAME, ("L", "localityName")),
        (NameOID.STREET_ADDRESS, ("street", "streetAddress")),
        (NameOID.ORGANIZATION_NAME, ("O", "organizationName")),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, ("OU", "organizationalUnitName")),
        (NameOID.COMMON_NAME, ("CN", "commonName")),
        (NameOID.EMAIL_ADDRESS, ("emailAddress",)),
        (NameOID.DOMAIN_COMPONENT, ("DC", "domainComponent")),
        (NameOID.SURNAME, ("SN", "surname")),
        (NameOID.GIVEN_NAME, ("GN", "givenName")),
        (NameOID.TITLE, ("title",)),
        (NameOID.SERIAL_NUMBER, ("serialNumber",)),
        (NameOID.USER_ID, ("UID", "userId")),
        (NameOID.POSTAL_CODE, ("postalCode",)),
    ]:
        for alias in aliases:
            names[alias.lower()] = oid
    return names


def _oid_for(key: str, subject: str) -> ObjectIdentifier:
    found = _names().get(key.lower())
    if found is not None:
        return found
    if re.fullmatch(r"\d+(\.\d+)+", key):
        from cryptography.x509.oid import ObjectIdentifier

        return ObjectIdentifier(key)
    raise ValueError(f"host subject {subject!r}: unknown attribute {key!r}")


def parse_host_subject(subject: str) -> list[tuple[ObjectIdentifier, str]]:
    """Split a SPICE host-subject string into (attribute OID, value) pairs, in order."""
    entries: list[tuple[ObjectIdentifier, str]] = []
    key: list[str] = []
    value: list[str] = []
    in_value = False
    i = 0
    n = len(subject)
    while True:
        escaped = False
        ch = subject[i] if i < n else ""
        if ch == "\\":
            i += 1
            ch = subject[i] if i < n else ""
            if ch not in ("\\", ","):
                raise ValueError(f"host subject {subject!r}: only \\\\ and \\, may be escaped (offset {i})")
            escaped = True
        if not in_value:
            if ch == " " and not key:
                pass
            elif ch == "":
                if key:
                    raise ValueError(f"host subject {subject!r}: {''.join(key)!r} has no value")
                break
            elif ch == "," and not escaped:
                raise ValueError(f"host subject {subject!r}: entry without '=' at offset {i}")
            elif ch == "=" and not escaped:
                in_value = True
            else:
                key.append(ch)
        elif ch == "" or (ch == "," and not escaped):
            if not value:
                raise ValueError(f"host subject {subject!r}: empty value for {''.join(key)!r}")
            entries.append((_oid_for("".join(key), subject), "".join(value)))
            if ch == "":
                break
            key, value, in_value = [], [], False
        else:
            value.append(ch)
        i += 1
    if not entries:
        raise ValueError("host subject is empty")
    return entries


def _canon(value: str) -> str:
    return " ".join(value.split()).lower()


def subject_matches(cert_subject: x509.Name, expected: list[tuple[ObjectIdentifier, str]]) -> bool:
    """Whether a certificate subject equals the parsed host subject (see the module docstring)."""
    attrs = list(cert_subject)
    if len(attrs) != len(expected):
        return False
    for attr, (oid, value) in zip(attrs, expected, strict=True):
        got = attr.value if isinstance(attr.value, str) else attr.value.decode("utf-8", "replace")
        if attr.oid != oid or _canon(got) != _canon(value):
            return False
    return True


class SpiceSSLContext(ssl.SSLContext):
    """An ``ssl.SSLContext`` that also carries the SPICE host subject to check."""

    host_subject: str | None = None


def client_ssl_context(
    ca_file: str | None = None,
    host_subject: str | None = None,
    check_hostname: bool = True,
    *,
    ca_data: str | None = None,
    ciphers: str | None = None,
) -> SpiceSSLContext:
    """A client TLS context: verify against ``ca_file`` and/or ``ca_data`` (PEM text), else the system CAs.

    With ``host_subject`` the certificate subject is checked the SPICE way
    instead of the hostname; ``check_hostname=False`` checks only the chain.
    ``ciphers`` is an OpenSSL cipher list (a .vv file's ``tls-ciphers``).
    """
    if host_subject is not None:
        parse_host_subject(host_subject)  # reject a malformed subject now
    ctx = SpiceSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_hostname and host_subject is None
    ctx.verify_mode = ssl.CERT_REQUIRED
    if ca_file is not None or ca_data is not None:
        ctx.load_verify_locations(cafile=ca_file, cadata=ca_data)
    else:
        ctx.load_default_certs()
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    ctx.host_subject = host_subject
    return ctx


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server TLS context with the given certificate chain and key (PEM files)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


def verify_host_subject(ctx: ssl.SSLContext, cert_der: bytes | None) -> None:
    """Raise :class:`TLSVerificationFailed` unless the peer certificate matches ``ctx.host_subject``."""
    subject = getattr(ctx, "host_subject", None)
    if subject is None:
        return
    if cert_der is None:
        raise TLSVerificationFailed("server sent no certificate")
    from cryptography import x509

    cert = x509.load_der_x509_certificate(cert_der)
    if not subject_matches(cert.subject, parse_host_subject(subject)):
        raise TLSVerificationFailed(
            f"certificate subject {cert.subject.rfc4514_string()!r} does not match host subject {subject!r}"
        )
