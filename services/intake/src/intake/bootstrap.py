"""The one place that wires intake's concrete parts together."""

from __future__ import annotations

from intake.adapters.grpc_api import DESCRIPTOR, IntakeApi
from intake.application.intake import IntakeApplication, IntakeCommands
from ketenzicht.intake.v1 import intake_pb2_grpc
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings


def create_application(settings: ServiceSettings) -> IntakeApplication:
    return IntakeApplication(settings.store)


def build(wiring: Wiring) -> ServiceParts:
    assert isinstance(wiring.app, IntakeApplication)
    commands = IntakeCommands(CommandGateway(wiring.bus, wiring.clock))
    api = IntakeApi(wiring.app, commands)
    return ServiceParts(
        servicers=[(intake_pb2_grpc.add_IntakeServiceServicer_to_server, api, DESCRIPTOR)]
    )
