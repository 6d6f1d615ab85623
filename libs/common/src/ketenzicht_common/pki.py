"""A private certificate authority for a profile that runs TLS on one machine (the cluster
profile): made on first start, kept and reused after.

``ensure_certificates(directory, servers=…, clients=…)`` leaves ``ca.pem`` (``ca.key`` beside
it, readable by this user only), and ``<name>.pem``/``<name>.key`` for every server (with its
subject alternative names) and every client (its common name is what `auth` matches
``certificate_cn`` against). A certificate already there is kept, so a restart changes nothing
a running caller trusts. Production gets its certificates from its own CA; only the paths are
the same (see deploy/production).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825
"""How long the local certificates last: longer than any run, short enough for clients that
cap a certificate's lifetime."""


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    os.replace(partial, path)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ketenzicht (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    certificate_file, key_file = directory / "ca.pem", directory / "ca.key"
    if not certificate_file.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name("ketenzicht local CA"))
            .issuer_name(_name("ketenzicht local CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        _write_key(key_file, key)
        certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    certificate = x509.load_pem_x509_certificate(certificate_file.read_bytes())
    loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    return certificate, loaded


def _issue(
    directory: Path,
    name: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    *,
    alternative_names: Sequence[str] = (),
    server: bool,
) -> None:
    certificate_file = directory / f"{name}.pem"
    if certificate_file.exists():
        return
    ca_certificate, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if alternative_names:
        entries: list[x509.GeneralName] = []
        for alternative in alternative_names:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(alternative)))
            except ValueError:
                entries.append(x509.DNSName(alternative))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256())
    _write_key(directory / f"{name}.key", key)
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def ensure_certificates(
    directory: Path,
    *,
    servers: Mapping[str, Sequence[str]] = {},
    clients: Sequence[str] = (),
) -> Path:
    """The CA under ``directory`` (made if absent) and a certificate per server (name ->
    subject alternative names) and per client; returns the CA's certificate file."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca = _load_ca(directory)
    for name, alternative_names in servers.items():
        _issue(directory, name, ca, alternative_names=alternative_names, server=True)
    for name in clients:
        _issue(directory, name, ca, server=False)
    return directory / "ca.pem"
