"""A throw-away certificate authority and a server certificate for 127.0.0.1 (trustme).

Writes the three files libspice-server's ``x509-dir`` wants: ``ca-cert.pem``,
``server-cert.pem`` (SAN IP 127.0.0.1) and ``server-key.pem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509

#: Subject fields of the server certificate, for host-subject checks.
ORGANIZATION = "spice-python tests"
COMMON_NAME = "spice test server"


@dataclass(frozen=True)
class Pki:
    directory: Path
    ca: trustme.CA

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca-cert.pem"

    @property
    def host_subject(self) -> str:
        """The server certificate's subject in SPICE's ``host-subject`` notation (``O=..., CN=...``)."""
        cert = x509.load_pem_x509_certificate((self.directory / "server-cert.pem").read_bytes())
        parts = []
        for rdn in cert.subject.rdns:
            for attr in rdn:
                value = attr.value if isinstance(attr.value, str) else attr.value.decode()
                parts.append(f"{attr.rfc4514_attribute_name}={value.replace(',', chr(92) + ',')}")
        return ", ".join(parts)


def make_pki(directory: Path) -> Pki:
    """A new CA and a server certificate signed by it, written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="spice-python test CA")
    leaf = ca.issue_cert("127.0.0.1", common_name=COMMON_NAME, organization_name=ORGANIZATION)
    ca.cert_pem.write_to_path(str(directory / "ca-cert.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(directory / "server-cert.pem"))
    leaf.private_key_pem.write_to_path(str(directory / "server-key.pem"))
    return Pki(directory, ca)
