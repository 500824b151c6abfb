"""The lab's self-signed HTTPS certificate, made once, with its SHA-256 fingerprint beside it
(clients pin it as they would a real node's pve-ssl.pem)."""

from __future__ import annotations

import datetime as dt
import os
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def ensure_certificate(cert: Path, key: Path, fingerprint: Path) -> str:
    """Create the key and certificate if missing; return the colon-separated fingerprint."""
    if not (cert.is_file() and key.is_file()):
        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "partilha lab"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ip_address("127.0.0.1"))]), critical=False)
            .sign(private, hashes.SHA256())
        )
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(private.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    digest = loaded.fingerprint(hashes.SHA256()).hex().upper()
    text = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
    fingerprint.write_text(text + "\n")
    return text
