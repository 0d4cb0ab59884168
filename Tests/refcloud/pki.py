"""Test PKI: a CA (kept in the state dir and reused across restarts) and a fresh
server certificate on every start, both EC P-256."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file with mode 0600 (created 0600, never wider), atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ski(pub):
    return x509.SubjectKeyIdentifier.from_public_key(pub)


def load_or_create_ca(state: Path, not_before: dt.datetime):
    """Return (ca_cert, ca_key). Reuses state/ca.pem + state/ca.key when both exist."""
    ca_pem, ca_key_path = state / "ca.pem", state / "ca.key"
    if ca_pem.exists() and ca_key_path.exists():
        cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
        now = dt.datetime.now(dt.timezone.utc)
        if cert.not_valid_after_utc > now + dt.timedelta(days=30) and \
                cert.not_valid_before_utc <= not_before:
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "camera-agent refcloud"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "refcloud test CA")])
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(_ski(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    write_private(ca_key_path, _key_pem(key))
    write_public(ca_pem, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        return x509.DNSName(value)


def issue_server_cert(state: Path, ca_cert, ca_key, sans: list[str], not_before: dt.datetime):
    """Write state/server.pem (leaf + CA chain) and state/server.key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    names, seen = [], set()
    for s in ["localhost", "127.0.0.1", "::1", *sans]:
        gn = _general_name(s)
        if gn not in seen:
            seen.add(gn)
            names.append(gn)
    cn = "localhost"
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(_ski(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = state / "server.pem", state / "server.key"
    write_private(key_path, _key_pem(key))
    write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM)
                 + ca_cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
