"""The one place that wires intake's concrete parts together."""

from __future__ import annotations

from datetime import date

from pydantic_settings import BaseSettings, SettingsConfigDict

from intake.adapters.grpc_api import DESCRIPTOR, IntakeApi
from intake.application.intake import IntakeApplication, IntakeCommands
from intake.domain.reflection_offer import DEFAULT_OFFER_SETTINGS, ReflectionOfferSettings
from ketenzicht.intake.v1 import intake_pb2_grpc
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.subject_keys import Controller, open_subject_keys


class IntakeSettings(BaseSettings):
    """``KETENZICHT_INTAKE_*``: what may differ between deployments of intake's rules."""

    model_config = SettingsConfigDict(env_prefix="KETENZICHT_INTAKE_")

    reflection_for_lawful_residents_from: date = DEFAULT_OFFER_SETTINGS.lawful_residents_from
    """From when the police may offer a third-country national with lawful stay the reflection
    period (C-66/21 of 20 October 2022; default 2023-05-18, WBV 2023/11)."""

    def reflection(self) -> ReflectionOfferSettings:
        return ReflectionOfferSettings(
            lawful_residents_from=self.reflection_for_lawful_residents_from
        )


def create_application(settings: ServiceSettings) -> IntakeApplication:
    app = IntakeApplication(settings.store)
    # The victims' keys (the blind index of the clearing house's match tokens, ADR 0028) sit
    # beside the event store, never in it, as the OM's do (ADR 0020). The police answer for
    # intake's victim data (Wpg), so the key store is theirs.
    app.keys = open_subject_keys(
        Controller.POLICE,
        service="intake",
        backend=settings.store.backend,
        data_dir=settings.data_dir,
        master_key_file=settings.master_key_file,
        postgres_dsn=settings.store.postgres_dsn,
    )
    return app


def build(wiring: Wiring, intake: IntakeSettings | None = None) -> ServiceParts:
    assert isinstance(wiring.app, IntakeApplication)
    intake = intake or IntakeSettings()
    commands = IntakeCommands(
        CommandGateway(wiring.bus, wiring.clock), intake.reflection(), wiring.app.keys
    )
    api = IntakeApi(wiring.app, commands)
    return ServiceParts(
        servicers=[(intake_pb2_grpc.add_IntakeServiceServicer_to_server, api, DESCRIPTOR)],
        close=wiring.app.keys.close,
    )
