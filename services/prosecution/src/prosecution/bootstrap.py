"""The one place that wires the prosecution service's concrete parts together.

Skeleton: the service runs, answers gRPC health checks and reflection; its API comes later.
"""

from __future__ import annotations

from ketenzicht.prosecution.v1 import prosecution_pb2, prosecution_pb2_grpc
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.store import ChainApplication

DESCRIPTOR = prosecution_pb2.DESCRIPTOR.services_by_name["ProsecutionService"]


class ProsecutionApplication(ChainApplication):
    name = "prosecution"
    service = "prosecution"

    def event_topics(self) -> set[str]:
        return set()


class ProsecutionApi:
    """No RPCs yet."""


def create_application(settings: ServiceSettings) -> ProsecutionApplication:
    return ProsecutionApplication(settings.store)


def build(wiring: Wiring) -> ServiceParts:
    return ServiceParts(
        servicers=[(prosecution_pb2_grpc.add_ProsecutionServiceServicer_to_server, ProsecutionApi(), DESCRIPTOR)]
    )
