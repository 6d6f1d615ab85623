"""The retention terms and the limitation period as dated data, and how a term is counted:
from the day after the event that starts it, to the day of the same date (ADR 0020)."""

from __future__ import annotations

from datetime import date

import pytest

from ketenzicht_common.retention import (
    LIMITATION_273F,
    TERMS,
    PoliceCaseState,
    ProceedingsState,
    add_months,
    limitation_ends,
    om_link_expires,
    police_link_expires,
    term,
    term_ends,
)
from ketenzicht_common.subject_keys import Controller


def test_every_term_names_its_sources_on_wetten_overheid_nl_and_says_whether_it_was_checked() -> (
    None
):
    for entry in (*TERMS, *LIMITATION_273F):
        assert entry.sources, entry
        assert any("wetten.overheid.nl" in s.url for s in entry.sources), entry
        assert entry.verified or entry.note, f"{entry}: an unverified entry says what is unsure"
    assert {t.controller for t in TERMS} == {Controller.POLICE, Controller.OM}


def test_a_term_is_counted_from_the_day_after_its_event() -> None:
    # Final on 2023-03-30: thirty years run from 2023-03-31 up to and including 2053-03-30.
    assert term_ends("WJSG_ART39D_OM_CASE", date(2023, 3, 30)) == date(2053, 3, 31)
    # Half a year after the investigation ended (Wpg art. 9 lid 4).
    assert term_ends("WPG_ART9_INVESTIGATION", date(2024, 8, 31)) == date(2025, 3, 1)
    # Five years after first processing (Wpg art. 14 lid 1 for daily-task data).
    assert term_ends("WPG_ART8_DAILY_TASK", date(2020, 2, 29)) == date(2025, 3, 1)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_a_term_is_the_version_in_force_and_none_before_its_law() -> None:
    assert term("WPG_ART9_INVESTIGATION", date(2020, 1, 1)).months == 6
    with pytest.raises(KeyError):
        term("WPG_ART9_INVESTIGATION", date(2007, 12, 31))


def test_trafficking_since_its_twelve_year_maximum_never_lapses() -> None:
    assert limitation_ends(date(2020, 5, 1), minor=False) is None
    assert limitation_ends(date(2020, 5, 1), minor=True) is None
    # Under the eight-year maximum (a later maximum does not reach back): twenty years from
    # the day after the offence, for a minor from the day after the latest possible 18th
    # birthday (ketenzicht knows only the category, not the birthday).
    assert limitation_ends(date(2010, 5, 1), minor=False) == date(2030, 5, 2)
    assert limitation_ends(date(2010, 5, 1), minor=True) == date(2048, 5, 2)
    with pytest.raises(KeyError):
        limitation_ends(date(2004, 12, 31), minor=False)  # before art. 273f existed


def test_final_proceedings_are_forgotten_after_the_wjsg_term_and_open_ones_never() -> None:
    final = ProceedingsState(date(2022, 6, 1), final_on=date(2023, 3, 30), disposed_on=None)
    assert om_link_expires(final) == ("WJSG_ART39D_OM_CASE", date(2053, 3, 31))
    open_case = ProceedingsState(date(2022, 6, 1), final_on=None, disposed_on=None)
    assert om_link_expires(open_case) is None
    # A dismissal can be reopened while the right to prosecute stands: for 273f, for ever.
    dismissed = ProceedingsState(date(2022, 6, 1), final_on=None, disposed_on=date(2022, 12, 1))
    assert om_link_expires(dismissed) is None
    # One registered under the eight-year maximum lapses (an adult victim assumed here), and
    # then the Wjsg term runs from the lapse.
    old = ProceedingsState(date(2010, 6, 1), final_on=None, disposed_on=date(2011, 1, 1))
    assert om_link_expires(old, minor=False) == ("WJSG_ART39D_OM_CASE", date(2060, 6, 3))
    assert om_link_expires(old, minor=True) == ("WJSG_ART39D_OM_CASE", date(2078, 6, 3))


def test_the_police_link_goes_half_a_year_after_the_investigation_ended_and_could_not_return() -> (
    None
):
    # Registered under the six-year maximum (twelve years' limitation, from the latest possible
    # 18th birthday for a minor: 2023-06-01), closed long before the lapse on 2035-06-02: the
    # half year of Wpg art. 9 lid 4 runs from the lapse.
    old = PoliceCaseState(date(2005, 6, 1), ended_on=date(2006, 3, 1), submitted=False)
    assert police_link_expires(old) == ("WPG_ART9_INVESTIGATION", date(2035, 12, 3))
    assert police_link_expires(old, minor=False) == ("WPG_ART9_INVESTIGATION", date(2017, 12, 3))
    # Ended after the lapse (an adult victim assumed): the half year runs from the end.
    late_end = PoliceCaseState(date(2005, 6, 1), ended_on=date(2018, 1, 10), submitted=False)
    assert police_link_expires(late_end, minor=False) == (
        "WPG_ART9_INVESTIGATION",
        date(2018, 7, 11),
    )


def test_the_police_link_stays_while_the_case_is_open_submitted_or_can_come_back() -> None:
    open_case = PoliceCaseState(date(2005, 6, 1), ended_on=None, submitted=False)
    assert police_link_expires(open_case) is None
    # Submitted: the OM's proceedings may send it back, and this service cannot see them end.
    submitted = PoliceCaseState(date(2005, 6, 1), ended_on=date(2006, 3, 1), submitted=True)
    assert police_link_expires(submitted, minor=False) is None
    # Trafficking since its twelve-year maximum can always be investigated again.
    recent = PoliceCaseState(date(2020, 6, 1), ended_on=date(2021, 3, 1), submitted=False)
    assert police_link_expires(recent, minor=False) is None
    # Before art. 273f: no regime ketenzicht could apply.
    older = PoliceCaseState(date(2004, 6, 1), ended_on=date(2004, 9, 1), submitted=False)
    assert police_link_expires(older, minor=False) is None
