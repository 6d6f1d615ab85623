"""An IND decision the facts do not allow is refused with its reason and stores nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ketenzicht_common.bus import CommandBus
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import PreconditionFailed
from ketenzicht_common.store import StoreSettings
from residence.application import commands as c
from residence.application.residence import ResidenceApplication, ResidenceCommands

pytestmark = pytest.mark.integration

IND = Provenance("ind", "ind-residence", "")


async def test_an_extension_for_a_victim_residence_never_saw_is_refused_and_stores_nothing(
        tmp_path: Path) -> None:
    app = ResidenceApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    app.store_id()
    bus = CommandBus(app)
    commands = ResidenceCommands(app, CommandGateway(
        bus, FixedClock(datetime(2024, 1, 1, tzinfo=UTC))))
    try:
        before = app.max_notification_id()
        with pytest.raises(PreconditionFailed) as refused:
            await commands.decide(c.ExtendTemporaryPermit(
                victim_id="victim-unknown", case_id="case-x", occurred_on=date(2023, 5, 1),
                valid_until=date(2024, 5, 1)), IND)
        assert refused.value.reason == "NO_TEMPORARY_PERMIT"
        assert app.max_notification_id() == before
        assert await bus.query(lambda: app.victim_ids()) == []

        # The writer goes on: a decision that is allowed is stored.
        await commands.decide(c.GrantTemporaryPermit(
            victim_id="victim-unknown", case_id="case-x", occurred_on=date(2023, 5, 1),
            valid_from=date(2023, 4, 1), valid_until=date(2024, 4, 1)), IND)
        assert await bus.query(lambda: app.victim_ids()) == ["victim-unknown"]
    finally:
        bus.close()
        app.close()
