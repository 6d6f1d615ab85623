"""The one place that wires the residence service's concrete parts together.

Skeleton: the service runs, answers gRPC health checks and reflection; its API comes later.
"""

from __future__ import annotations

from ketenzicht.residence.v1 import residence_pb2, residence_pb2_grpc
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.store import ChainApplication

DESCRIPTOR = residence_pb2.DESCRIPTOR.services_by_name["ResidenceService"]


class ResidenceApplication(ChainApplication):
    name = "residence"
    service = "residence"

    def event_topics(self) -> set[str]:
        return set()


class ResidenceApi:
    """No RPCs yet."""


def create_application(settings: ServiceSettings) -> ResidenceApplication:
    return ResidenceApplication(settings.store)


def build(wiring: Wiring) -> ServiceParts:
    return ServiceParts(
        servicers=[
            (residence_pb2_grpc.add_ResidenceServiceServicer_to_server, ResidenceApi(), DESCRIPTOR)
        ]
    )
