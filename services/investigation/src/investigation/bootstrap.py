"""The one place that wires the investigation service's concrete parts together.

Skeleton: the service runs, answers gRPC health checks and reflection; its API comes later.
"""

from __future__ import annotations

from ketenzicht.investigation.v1 import investigation_pb2, investigation_pb2_grpc
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.store import ChainApplication

DESCRIPTOR = investigation_pb2.DESCRIPTOR.services_by_name["InvestigationService"]


class InvestigationApplication(ChainApplication):
    name = "investigation"
    service = "investigation"

    def event_topics(self) -> set[str]:
        return set()


class InvestigationApi:
    """No RPCs yet."""


def create_application(settings: ServiceSettings) -> InvestigationApplication:
    return InvestigationApplication(settings.store)


def build(wiring: Wiring) -> ServiceParts:
    return ServiceParts(
        servicers=[(investigation_pb2_grpc.add_InvestigationServiceServicer_to_server, InvestigationApi(), DESCRIPTOR)]
    )
