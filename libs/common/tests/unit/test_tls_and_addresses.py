"""The cluster profile's private CA, and a client's list of addresses."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from ketenzicht_common.client import balanced
from ketenzicht_common.pki import ensure_certificates


def test_the_private_ca_signs_servers_for_their_addresses_and_is_kept(tmp_path: Path) -> None:
    ca = ensure_certificates(
        tmp_path, servers={"nats": ["127.0.0.1", "localhost"]}, clients=["caller"]
    )
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(tmp_path / "nats.pem", tmp_path / "nats.key")  # key matches
    server = x509.load_pem_x509_certificate((tmp_path / "nats.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert server.issuer == x509.load_pem_x509_certificate(ca.read_bytes()).subject
    assert (tmp_path / "ca.key").stat().st_mode & 0o077 == 0  # the CA's key: this user only

    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    ensure_certificates(tmp_path, servers={"nats": ["127.0.0.1"]}, clients=["caller"])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_one_address_is_left_alone_and_several_are_balanced_round_robin() -> None:
    assert balanced("127.0.0.1:50051") == ("127.0.0.1:50051", None)
    target, options = balanced("127.0.0.1:50051, 127.0.0.2:50051")
    assert target == "ipv4:127.0.0.1:50051,127.0.0.2:50051"
    assert options is not None
    config = json.loads(dict(options)["grpc.service_config"])
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    # A warm standby, NOT_SERVING as a whole, gets no calls while another instance serves.
    assert config["healthCheckConfig"] == {"serviceName": ""}
    assert balanced("[::1]:1,[::1]:2")[0] == "ipv6:[::1]:1,[::1]:2"
    with pytest.raises(ValueError, match="IP addresses"):
        balanced("intake-1:50051,intake-2:50051")
