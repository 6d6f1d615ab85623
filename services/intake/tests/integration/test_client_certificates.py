"""TLS with client certificates, switched on by configuration alone: the certificate's common
name identifies the organisation, and roles apply as they do for tokens."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.pki import make_certificates

pytestmark = pytest.mark.integration


async def test_client_certificates_identify_callers_when_tls_is_configured(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    certificates = tmp_path / "pki"
    certificates.mkdir()
    make_certificates(certificates)
    intake = service_factory(
        "intake",
        nats_server,
        env={
            "KETENZICHT_TLS_CERTIFICATE": str(certificates / "server.pem"),
            "KETENZICHT_TLS_PRIVATE_KEY": str(certificates / "server.key"),
            "KETENZICHT_TLS_CLIENT_CA": str(certificates / "ca.pem"),
        },
    )
    request = pb.RegisterSignalRequest(
        occurred_on="2022-05-01",
        source_organisation=pb.SOURCE_ORGANISATION_POLICE,
        form=common_pb2.EXPLOITATION_FORM_CRIMINAL,
        nationality_group=pb.NATIONALITY_GROUP_DUTCH,
        residence_position=pb.RESIDENCE_POSITION_LAWFUL,
        region=pb.POLICE_REGION_ROTTERDAM,
    )

    def client(name: str) -> dict[str, Path]:
        return {
            "client_certificate": certificates / f"{name}.pem",
            "client_key": certificates / f"{name}.key",
            "server_ca": certificates / "ca.pem",
        }

    async with connect(intake.address, **client("politie")) as channel:
        reply = await IntakeServiceStub(channel).RegisterSignal(request)
        assert reply.victim_id

    async with connect(intake.address, **client("om")) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await IntakeServiceStub(channel).RegisterSignal(request)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    async with connect(intake.address, **client("stranger")) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await IntakeServiceStub(channel).RegisterSignal(request)
        assert unknown.value.code() == grpc.StatusCode.UNAUTHENTICATED

    # Without a client certificate the TLS handshake itself fails.
    async with connect(intake.address, server_ca=certificates / "ca.pem") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await IntakeServiceStub(channel).RegisterSignal(request, timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
