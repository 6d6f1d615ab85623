"""The one place that wires the investigation service's concrete parts together."""

from __future__ import annotations

from investigation.adapters.grpc_api import DESCRIPTOR, InvestigationApi
from investigation.application.investigation import (
    InvestigationApplication,
    InvestigationCommands,
)
from ketenzicht.investigation.v1 import investigation_pb2_grpc
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings


def create_application(settings: ServiceSettings) -> InvestigationApplication:
    return InvestigationApplication(settings.store)


def build(wiring: Wiring) -> ServiceParts:
    assert isinstance(wiring.app, InvestigationApplication)
    commands = InvestigationCommands(CommandGateway(wiring.bus, wiring.clock))
    api = InvestigationApi(wiring.app, commands)
    return ServiceParts(
        servicers=[
            (investigation_pb2_grpc.add_InvestigationServiceServicer_to_server, api, DESCRIPTOR)
        ]
    )
