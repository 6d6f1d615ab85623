"""A batch that fails leaves nothing behind: not in the store, not in the cache, and the writer
keeps running for the commands after it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from intake.application import commands as c
from intake.application.intake import IntakeApplication, IntakeCommands, _existing
from ketenzicht_common.bus import CommandBus, UnitOfWork
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.commands import CommandGateway, CommandResult
from ketenzicht_common.contract import ContractViolation
from ketenzicht_common.domain import Provenance
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


LOST = case_pseudonym("case-lost")
"""The case of the report that the broken handler triggers and that must never be stored."""


def police(command_id: str) -> Provenance:
    return Provenance("politie", "police-registration", command_id)


@contextlib.asynccontextmanager
async def intake_with_a_victim(
    tmp_path: Path,
) -> AsyncIterator[tuple[IntakeApplication, CommandBus, IntakeCommands, str]]:
    """An intake store on SQLite with its command bus, and one victim signalled."""
    app = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    app.store_id()
    bus = CommandBus(app)
    commands = IntakeCommands(CommandGateway(bus, FixedClock(datetime(2024, 1, 1, tzinfo=UTC))))
    try:
        signal = await commands.register_signal(
            c.RegisterSignal(
                occurred_on=date(2022, 1, 3),
                source_organisation=SourceOrganisation.POLICE,
                form=ExploitationForm.SEXUAL,
                nationality_group=NationalityGroup.DUTCH,
                residence_position=ResidencePosition.LAWFUL,
                region=PoliceRegion.LIMBURG,
            ),
            police("signal"),
        )
        yield app, bus, commands, signal.answer.victim_id
    finally:
        bus.close()
        app.close()


def broken_report(victim: str) -> Callable[[UnitOfWork], None]:
    """A programming error after an event was triggered."""

    def handle(uow: UnitOfWork) -> None:
        _existing(uow, victim).file_report(police("broken"), date(2022, 3, 1), LOST, False)
        raise RuntimeError("bug in a handler")

    return handle


async def test_a_failed_batch_is_forgotten_and_the_writer_goes_on(tmp_path: Path) -> None:
    async with intake_with_a_victim(tmp_path) as (app, bus, commands, victim):
        report = c.FileReport(
            victim_id=victim, case_id=case_pseudonym("case-kept"), occurred_on=date(2022, 2, 1)
        )
        await commands.file_report(report, police("report"))

        # The whole batch must fail, and its in-memory changes must not survive into the next.
        lost = c.FileReport(victim_id=victim, case_id=LOST, occurred_on=date(2022, 3, 1))
        with pytest.raises(RuntimeError):
            await bus.execute(lost, police("broken"), broken_report(victim), type(None))

        # The writer is alive, and neither the store nor the cache knows the lost report.
        later = c.FileReport(
            victim_id=victim, case_id=case_pseudonym("case-later"), occurred_on=date(2022, 4, 1)
        )
        await asyncio.wait_for(commands.file_report(later, police("later")), timeout=5)
        cases = await bus.query(lambda: sorted(app.victim(victim).reports))
        assert cases == sorted([case_pseudonym("case-kept"), case_pseudonym("case-later")])

    reopened = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    try:
        assert sorted(reopened.victim(victim).reports) == sorted(
            [case_pseudonym("case-kept"), case_pseudonym("case-later")]
        )
    finally:
        reopened.close()


async def test_a_failing_command_does_not_fail_the_commands_batched_with_it(tmp_path: Path) -> None:
    async with intake_with_a_victim(tmp_path) as (app, bus, commands, victim):
        # The writer is kept busy, so that the commands below queue up and share one batch.
        busy = asyncio.ensure_future(bus.query(lambda: time.sleep(0.3)))
        await asyncio.sleep(0.05)
        reports = [
            commands.file_report(
                c.FileReport(
                    victim_id=victim,
                    case_id=case_pseudonym(f"case-{n}"),
                    occurred_on=date(2022, 2, n + 1),
                ),
                police(f"report-{n}"),
            )
            for n in range(4)
        ]
        lost = c.FileReport(victim_id=victim, case_id=LOST, occurred_on=date(2022, 3, 1))
        outcomes = await asyncio.gather(
            *reports[:2],
            bus.execute(lost, police("broken"), broken_report(victim), type(None)),
            *reports[2:],
            return_exceptions=True,
        )
        await busy

        assert isinstance(outcomes[2], RuntimeError)
        assert [type(o) for o in outcomes[:2] + outcomes[3:]] == [CommandResult] * 4
        cases = await bus.query(lambda: sorted(app.victim(victim).reports))
        assert cases == sorted(case_pseudonym(f"case-{n}") for n in range(4))


async def test_an_event_that_breaks_its_contract_is_never_stored(tmp_path: Path) -> None:
    # A handler (a bug, or an input nothing checked) records free text where the contract
    # wants a pseudonym: the store refuses it before it is stored, so the relay never meets it.
    def free_text_case(uow: UnitOfWork) -> None:
        _existing(uow, victim).file_report(
            police("free-text"), date(2022, 3, 1), "Jan Jansen, Kerkstraat 1", False
        )

    async with intake_with_a_victim(tmp_path) as (app, bus, commands, victim):
        busy = asyncio.ensure_future(bus.query(lambda: time.sleep(0.3)))
        await asyncio.sleep(0.05)
        kept = c.FileReport(
            victim_id=victim, case_id=case_pseudonym("case-kept"), occurred_on=date(2022, 2, 1)
        )
        lost = c.FileReport(victim_id=victim, case_id=LOST, occurred_on=date(2022, 3, 1))
        outcomes = await asyncio.gather(
            commands.file_report(kept, police("report")),
            bus.execute(lost, police("free-text"), free_text_case, type(None)),
            return_exceptions=True,
        )
        await busy

        assert isinstance(outcomes[0], CommandResult)
        assert isinstance(outcomes[1], ContractViolation)
        assert str(outcomes[1]) == (
            "breaks-contract: intake ReportFiled: case_id is not a pseudonym"
        )
        assert await bus.query(lambda: sorted(app.victim(victim).reports)) == [
            case_pseudonym("case-kept")
        ]
        stored = app.recorder.select_notifications(1, 1000)
        assert not [n for n in stored if b"Jansen" in n.state]
