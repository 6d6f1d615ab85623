"""A private CA and certificates for tests of TLS (gRPC callers, the bus), made with openssl."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certificates(
    directory: Path, clients: tuple[str, ...] = ("politie", "om", "stranger")
) -> None:
    """``ca.pem``, a server certificate for 127.0.0.1 (``server.pem``/``server.key``), and a
    client certificate per name, under ``directory``."""
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=ketenzicht-test-ca",
        "-keyout",
        str(directory / "ca.key"),
        "-out",
        str(directory / "ca.pem"),
    )
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, extension in [("server", "server.ext"), *((c, None) for c in clients)]:
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(directory / f"{name}.key"),
            "-out",
            str(directory / f"{name}.csr"),
        )
        sign = [
            "x509",
            "-req",
            "-in",
            str(directory / f"{name}.csr"),
            "-CA",
            str(directory / "ca.pem"),
            "-CAkey",
            str(directory / "ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            str(directory / f"{name}.pem"),
        ]
        if extension:
            sign += ["-extfile", str(directory / extension)]
        _openssl(*sign)
