"""The one place that wires the monitor service's concrete parts together.

Skeleton: the service runs, answers gRPC health checks and reflection; its API comes later.
"""

from __future__ import annotations

from ketenzicht.monitor.v1 import monitor_pb2, monitor_pb2_grpc
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.store import ChainApplication

DESCRIPTOR = monitor_pb2.DESCRIPTOR.services_by_name["MonitorService"]


class MonitorApplication(ChainApplication):
    name = "monitor"
    service = "monitor"

    def event_topics(self) -> set[str]:
        return set()


class MonitorApi:
    """No RPCs yet."""


def create_application(settings: ServiceSettings) -> MonitorApplication:
    return MonitorApplication(settings.store)


def build(wiring: Wiring) -> ServiceParts:
    return ServiceParts(
        servicers=[
            (monitor_pb2_grpc.add_MonitorServiceServicer_to_server, MonitorApi(), DESCRIPTOR)
        ]
    )
