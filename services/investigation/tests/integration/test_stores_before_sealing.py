"""A store written before the police registration numbers were sealed (ADR 0020) still loads
and answers: its case is found by the number through the old lookup aggregate, and shows the
number in the clear; it cannot be forgotten by destroying a key."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest

from investigation.application.investigation import InvestigationApplication
from investigation.domain.case_investigation import CaseInvestigation, PoliceRegistration
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import PreconditionFailed
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.subject_keys import Controller, MemoryKeys, SubjectKeys, new_master_key

pytestmark = pytest.mark.integration

POLICE = Provenance(organisation="politie", system="police-registration", command_id="cmd-1")
CASE = "C-0123456789abcdef0123"
NUMBER = "PL0100-2021-0001"


def application(path: Path) -> InvestigationApplication:
    app = InvestigationApplication(StoreSettings(sqlite_path=str(path)))
    app.keys = SubjectKeys(Controller.POLICE, base64.b64decode(new_master_key()), MemoryKeys())
    return app


def test_a_case_stored_with_its_number_in_the_clear_still_loads_and_is_found(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    app = application(path)
    # As the code before the sealing stored a registration.
    old: CaseInvestigation = CaseInvestigation.start(
        CaseInvestigation.id_for(CASE),
        CaseInvestigation.Opened,
        POLICE,
        date(2021, 3, 1),
        case_id=CASE,
    )
    old.record(
        CaseInvestigation.PoliceRegistrationNumberRecorded,
        POLICE,
        date(2021, 3, 1),
        police_registration_number=NUMBER,
    )
    app.save(old, PoliceRegistration.link(NUMBER, CASE, POLICE, date(2021, 3, 1)))
    app.close()

    app = application(path)
    try:
        case = app.by_registration_number(NUMBER, "politie")
        assert case.case_id == CASE
        assert case.registered_by == "politie"
        assert app.registration_number_of(case) == NUMBER
        assert not app.registration_number_forgotten(case)
        assert app.holder_of("PL0100-2021-9999") is None
        with pytest.raises(PreconditionFailed) as refusal:
            case.forget_registration_number(POLICE, date(2026, 1, 1), "ERASURE_ORDER", "", "o-1")
        assert refusal.value.reason == "NO_SEALED_REGISTRATION_NUMBER"
    finally:
        app.close()
