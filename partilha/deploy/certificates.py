"""The front door's TLS certificate: one PEM bundle (certificate, chain, private key: HAProxy's
format) on the operator's machine, in `<workspace>/.partilha/frontdoor/<env>/frontdoor.pem`
(0600, never in git), which the front door's deploy installs.

- A lab env gets it from a lab CA partilha makes once beside it (`ca.pem`, `ca.key`): a leaf
  naming every virtual host, re-issued only when the names change. Tests and browsers of the lab
  trust `ca.pem`; nobody else does.
- A production env uses the certificate the CIM supplies (a public CA's, or renewed by an ACME
  client) at that same path; partilha only checks that it names every virtual host.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from partilha.errors import UserError

BUNDLE = "frontdoor.pem"
CA_CERT, CA_KEY = "ca.pem", "ca.key"
VALID = dt.timedelta(days=825)


def certificate_for(folder: Path, names: Sequence[str], *, lab: bool) -> Path:
    """The bundle's path in `folder`; in a lab env issued now by the lab CA if it is missing or
    does not name every one of `names` (a production env's is the CIM's: see `check`)."""
    bundle = folder / BUNDLE
    if lab and (not bundle.is_file() or set(names) - covered(bundle)):
        _issue(folder, names)
    return bundle


def check(bundle: Path, names: Sequence[str]) -> None:
    """The bundle is there and names every one of `names`; else one error saying what to do."""
    if not bundle.is_file():
        raise UserError(f"{bundle}: the front door's certificate is missing: put there the "
                        "certificate the CIM supplies (or its ACME client renews), its chain and "
                        "its private key, in one PEM file (mode 0600)")
    missing = sorted(set(names) - covered(bundle))
    if missing:
        raise UserError(f"{bundle}: the certificate does not name {', '.join(missing)}")


def covered(bundle: Path) -> set[str]:
    """The DNS names of the bundle's first certificate (none if it cannot be read)."""
    try:
        cert = x509.load_pem_x509_certificate(bundle.read_bytes())
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return set()
    return set(alt.get_values_for_type(x509.DNSName))


def _issue(folder: Path, names: Sequence[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_cert, ca_key = _lab_ca(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALID)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = (cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
           + _private(key))
    _write_private(folder / BUNDLE, pem)


def _lab_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = folder / CA_CERT, folder / CA_KEY
    if cert_path.is_file() and key_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise UserError(f"{key_path}: not the lab CA's key")
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "partilha lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "partilha lab CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + 10 * VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write_private(key_path, _private(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _private(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)
