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
from ketenzicht_common.subject_keys import Controller, open_subject_keys


def create_application(settings: ServiceSettings) -> InvestigationApplication:
    app = InvestigationApplication(settings.store)
    # The police's key store sits beside the event store, never in it (ADR 0020). Police,
    # KMar and the Labour Inspectorate all process these numbers under the Wpg: one key store.
    app.keys = open_subject_keys(
        Controller.POLICE,
        service="investigation",
        backend=settings.store.backend,
        data_dir=settings.data_dir,
        master_key_file=settings.master_key_file,
        postgres_dsn=settings.store.postgres_dsn,
    )
    return app


def build(wiring: Wiring) -> ServiceParts:
    app = wiring.app
    assert isinstance(app, InvestigationApplication)
    commands = InvestigationCommands(CommandGateway(wiring.bus, wiring.clock), app)
    api = InvestigationApi(app, commands)
    return ServiceParts(
        servicers=[
            (investigation_pb2_grpc.add_InvestigationServiceServicer_to_server, api, DESCRIPTOR)
        ],
        close=app.keys.close,
    )
