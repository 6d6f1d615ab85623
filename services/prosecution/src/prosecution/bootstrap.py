"""The one place that wires the prosecution service's concrete parts together."""

from __future__ import annotations

from ketenzicht.prosecution.v1 import prosecution_pb2_grpc
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.subject_keys import Controller, open_subject_keys
from prosecution.adapters.grpc_api import DESCRIPTOR, ProsecutionApi
from prosecution.application.prosecution import ProsecutionApplication, ProsecutionCommands


def create_application(settings: ServiceSettings) -> ProsecutionApplication:
    app = ProsecutionApplication(settings.store)
    # The OM's key store sits beside the event store, never in it (ADR 0020).
    app.keys = open_subject_keys(
        Controller.OM,
        service="prosecution",
        backend=settings.store.backend,
        data_dir=settings.data_dir,
        master_key_file=settings.master_key_file,
        postgres_dsn=settings.store.postgres_dsn,
    )
    return app


def build(wiring: Wiring) -> ServiceParts:
    app = wiring.app
    assert isinstance(app, ProsecutionApplication)
    commands = ProsecutionCommands(CommandGateway(wiring.bus, wiring.clock), app)
    api = ProsecutionApi(app, commands)
    return ServiceParts(
        servicers=[
            (prosecution_pb2_grpc.add_ProsecutionServiceServicer_to_server, api, DESCRIPTOR)
        ],
        close=app.keys.close,
    )
