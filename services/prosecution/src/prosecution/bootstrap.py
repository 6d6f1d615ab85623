"""The one place that wires the prosecution service's concrete parts together."""

from __future__ import annotations

from ketenzicht.prosecution.v1 import prosecution_pb2_grpc
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from prosecution.adapters.grpc_api import DESCRIPTOR, ProsecutionApi
from prosecution.application.prosecution import ProsecutionApplication, ProsecutionCommands


def create_application(settings: ServiceSettings) -> ProsecutionApplication:
    return ProsecutionApplication(settings.store)


def build(wiring: Wiring) -> ServiceParts:
    assert isinstance(wiring.app, ProsecutionApplication)
    commands = ProsecutionCommands(CommandGateway(wiring.bus, wiring.clock))
    api = ProsecutionApi(wiring.app, commands)
    return ServiceParts(
        servicers=[(prosecution_pb2_grpc.add_ProsecutionServiceServicer_to_server, api, DESCRIPTOR)]
    )
