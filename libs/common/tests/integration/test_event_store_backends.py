"""The same store tests on each backend: SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from intake.application import commands as c
from intake.application.intake import IntakeApplication, IntakeCommands
from ketenzicht_common.bus import CommandBus
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.domain import Provenance
from ketenzicht_common.relay import to_message
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing import case_pseudonym
from ketenzicht_contracts.events.categories import (
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ResidencePosition,
    SourceOrganisation,
)

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    if request.param == "sqlite":
        yield StoreSettings(backend="sqlite", sqlite_path=str(tmp_path / "events.sqlite"))
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        # A schema per test keeps tests apart on the one session-wide server.
        schema = f"t_{uuid.uuid4().hex[:12]}"
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        yield StoreSettings(backend="postgres", postgres_dsn=dsn, postgres_schema=schema)


def provenance(command_id: str) -> Provenance:
    return Provenance(organisation="politie", system="police-registration", command_id=command_id)


SIGNAL = c.RegisterSignal(
    occurred_on=date(2022, 1, 3),
    source_organisation=SourceOrganisation.POLICE,
    form=ExploitationForm.SEXUAL,
    minor=False,
    nationality_group=NationalityGroup.THIRD_COUNTRY,
    residence_position=ResidencePosition.IRREGULAR,
    region=PoliceRegion.DEN_HAAG,
)


async def _run(store: StoreSettings) -> tuple[str, list[str]]:
    app = IntakeApplication(store)
    bus = CommandBus(app)
    try:
        commands = IntakeCommands(CommandGateway(bus, FixedClock(datetime(2024, 1, 1, tzinfo=UTC))))
        signal = await commands.register_signal(SIGNAL, provenance("cmd-1"))
        victim = signal.answer.victim_id
        acks = await asyncio.gather(
            *[
                commands.file_report(
                    c.FileReport(
                        victim_id=victim,
                        case_id=case_pseudonym(f"case-{n}"),
                        occurred_on=date(2022, 2, n),
                    ),
                    provenance(f"cmd-report-{n}"),
                )
                for n in range(1, 21)
            ]
        )
        return victim, [e for ack in acks for e in ack.event_ids]
    finally:
        bus.close()
        app.close()


def test_events_survive_a_restart_in_order_and_as_the_contract_says(store: StoreSettings) -> None:
    victim, event_ids = asyncio.run(_run(store))
    assert len(event_ids) == 20

    reopened = IntakeApplication(store)
    try:
        track = reopened.victim(victim)
        assert sorted(track.reports) == sorted(case_pseudonym(f"case-{n}") for n in range(1, 21))
        notifications = reopened.recorder.select_notifications(
            None, 100, topics=reopened.public_topics()
        )
        assert [n.id for n in notifications] == sorted(n.id for n in notifications)
        messages = [to_message(reopened, n) for n in notifications]
        assert [m[0] for m in messages] == (
            ["ketenzicht.intake.SignalRegistered"] + ["ketenzicht.intake.ReportFiled"] * 20
        )
        published_ids = [str(m[2].event_id) for m in messages[1:]]
        assert sorted(published_ids) == sorted(event_ids)
        assert {m[2].organisation for m in messages} == {"politie"}
    finally:
        reopened.close()


def test_a_retry_after_a_restart_still_stores_nothing_new(store: StoreSettings) -> None:
    async def scenario() -> None:
        for attempt in range(2):
            app = IntakeApplication(store)
            bus = CommandBus(app)
            try:
                commands = IntakeCommands(
                    CommandGateway(bus, FixedClock(datetime(2024, 1, 1, tzinfo=UTC)))
                )
                result = await commands.register_signal(SIGNAL, provenance("same-command"))
                assert result.replayed == (attempt == 1)
                # Opened, SignalRegistered and the command-log entry: nothing more on a retry.
                assert app.max_notification_id() == 3
            finally:
                bus.close()
                app.close()

    asyncio.run(scenario())
