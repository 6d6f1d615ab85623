"""How long a controller may keep the link from a pseudonym to its source identifier: the
retention terms and the limitation period as dated data with their sources. Pure: no I/O, no
clock (the day is an argument).

Why the link and not the facts: ketenzicht's events hold pseudonyms and categories; what makes
them personal data of a known person is the link to the police's or the OM's number. When the
controller's term for that data has passed, ketenzicht destroys the key that seals the link
(`subject_keys`); the facts stay, so rules, lead times and figures do not change.

Which moment ends the link. The Wpg and the Wjsg distinguish *removal* (verwijdering: out of
operational use, kept a while longer for a few narrow purposes in the controller's own
systems) from *destruction* (vernietiging). ketenzicht's mapping is operational use and is no
controller's archive, so its key is destroyed at the *removal* moment; the controller's own
systems keep what the law lets them keep after that.

A term never ends while the matter can still come back: a reopened case (heropening) starts
counting again from its new end, and a case that was dismissed or disposed of otherwise can be
reopened as long as the right to prosecute has not lapsed (art. 70/71 Sr). For art. 273f Sr that
is, since its maximum rose to twelve years, never (art. 70 lid 2 sub 1°): a dismissed
trafficking case keeps its key until its controller gives an erasure order. ketenzicht knows
neither the offence date nor a victim's birthday (only the category *minor*), so where the
limitation matters it counts from the latest day the offence can have been committed (the
registration) and, for a minor, the latest possible 18th birthday (art. 71 sub 3°): never
earlier than the law would.

Entries marked ``verified=False`` could not be checked against the text in force on
wetten.overheid.nl from here; their ``note`` says what is uncertain. A change in the law is a
new entry with its ``valid_from``, never an edit of an old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from .subject_keys import Controller


@dataclass(frozen=True)
class Source:
    citation: str
    url: str


class CountedFrom(StrEnum):
    """The business date a term is counted from (the day after it, as the law counts)."""

    FIRST_PROCESSING = "FIRST_PROCESSING"
    """The day the data was first processed: the registration's ``occurred_on``."""
    INVESTIGATION_ENDED = "INVESTIGATION_ENDED"
    """The day the investigation no longer needed it: InvestigationClosed or
    NoInvestigationDecided (its latest, if the case was resumed)."""
    CASE_FINAL = "CASE_FINAL"
    """The day the proceedings became final (CaseFinal, onherroepelijk)."""


@dataclass(frozen=True)
class RetentionTerm:
    code: str
    controller: Controller
    what: str
    years: int
    months: int
    counted_from: CountedFrom
    valid_from: date
    sources: tuple[Source, ...]
    verified: bool
    note: str = ""


WPG = "https://wetten.overheid.nl/BWBR0022463"
WJSG = "https://wetten.overheid.nl/BWBR0014194"
BJSG = "https://wetten.overheid.nl/BWBR0016544"
SR = "https://wetten.overheid.nl/BWBR0001854"

TERMS: tuple[RetentionTerm, ...] = (
    RetentionTerm(
        code="WPG_ART8_DAILY_TASK",
        controller=Controller.POLICE,
        what="police data processed for the daily police task (dagelijkse politietaak), e.g. a "
        "signal that led to no investigation",
        years=5,
        months=0,
        counted_from=CountedFrom.FIRST_PROCESSING,
        valid_from=date(2008, 1, 1),
        sources=(
            Source("Wpg art. 8 lid 1 (processed for one year after first processing)", WPG),
            Source(
                "Wpg art. 14 lid 1 (removed at the latest five years after first processing)", WPG
            ),
        ),
        verified=False,
        note="Art. 8 lid 1 read from a copy of the text (maxius.nl); the five-year removal of "
        "art. 14 lid 1 and the destruction five years after removal as the AP and the minister "
        "describe them (2024-2025); the article text itself was not read here.",
    ),
    RetentionTerm(
        code="WPG_ART9_INVESTIGATION",
        controller=Controller.POLICE,
        what="police data processed for an investigation in a specific case (onderzoek in "
        "een bepaald geval), e.g. the registration number of a trafficking investigation",
        years=0,
        months=6,
        counted_from=CountedFrom.INVESTIGATION_ENDED,
        valid_from=date(2008, 1, 1),
        sources=(
            Source(
                "Wpg art. 9 lid 4 (removed once no longer needed for the investigation, or "
                "after at most half a year to see whether it gives cause for a new one)",
                WPG,
            ),
            Source("Wpg art. 14 (removal and destruction terms)", WPG),
        ),
        verified=True,
        note="Art. 9 lid 4 as in force since 2008-01-01 (Stb. 2007, 300), read from a copy of "
        "the text (inview.nl). 'No longer needed' is the police's judgment: ketenzicht takes "
        "the investigation's end as that moment, and a case that can come back (limitation "
        "not run) keeps its key.",
    ),
    RetentionTerm(
        code="WJSG_ART39D_OM_CASE",
        controller=Controller.OM,
        what="the OM's strafvorderlijke gegevens of proceedings against a suspect for a crime "
        "(misdrijf), e.g. the parketnummer",
        years=30,
        months=0,
        counted_from=CountedFrom.CASE_FINAL,
        valid_from=date(2004, 4, 1),
        sources=(
            Source("Wjsg art. 39d lid 1 onder a (removal of strafvorderlijke gegevens)", WJSG),
            Source("Besluit justitiële en strafvorderlijke gegevens", BJSG),
            Source(
                "Kamerstukken II 28886 nr. 6 (nota van wijziging: twenty years became thirty)",
                "https://zoek.officielebekendmakingen.nl/kst-28886-6.html",
            ),
        ),
        verified=False,
        note="The thirty years are from the nota van wijziging to art. 39d lid 1 onder a; that "
        "the term is counted from the final disposal, and that the Besluit sets no shorter "
        "term for trafficking cases, is our reading and was not checked against the article "
        "in force. A dismissal or other disposal has no end here while it can be reopened.",
    ),
)


@dataclass(frozen=True)
class LimitationRegime:
    """Whether the right to prosecute art. 273f Sr lapses, and when (art. 70/71 Sr)."""

    valid_from: date
    years: int | None
    """None: it never lapses."""
    minor_counts_from_18th_birthday: bool
    sources: tuple[Source, ...]
    verified: bool
    note: str = ""


LIMITATION_273F: tuple[LimitationRegime, ...] = (
    LimitationRegime(
        valid_from=date(2005, 1, 1),
        years=12,
        minor_counts_from_18th_birthday=True,
        sources=(
            Source(
                "Sr art. 70 lid 1 sub 3° (twelve years for crimes of more than three years)", SR
            ),
            Source("Sr art. 273f (in force since 2005-01-01, maximum six years)", SR),
        ),
        verified=False,
        note="273f's first maximum (six years) and the minor rule of art. 71 sub 3° for that "
        "period are from memory, not checked.",
    ),
    LimitationRegime(
        valid_from=date(2009, 7, 1),
        years=20,
        minor_counts_from_18th_birthday=True,
        sources=(
            Source("Sr art. 70 lid 1 sub 4° (twenty years for crimes of eight years or more)", SR),
            Source(
                "Sr art. 71 sub 3° (273f against a minor: from the day after the 18th birthday)", SR
            ),
            Source("Sr art. 273f lid 1 (maximum eight years, from 2009-07-01)", SR),
        ),
        verified=False,
        note="The eight-year maximum and its date are from memory of the 2009 amendment; art. "
        "70 and 71 were read from copies of the text (2013 and 2022 versions).",
    ),
    LimitationRegime(
        valid_from=date(2013, 11, 15),
        years=None,
        minor_counts_from_18th_birthday=True,
        sources=(
            Source(
                "Sr art. 70 lid 2 sub 1° (no limitation for crimes of twelve years or more)", SR
            ),
            Source("Sr art. 273f lid 1 (maximum twelve years)", SR),
        ),
        verified=False,
        note="Art. 70 lid 2 sub 1° read from a copy of the text in force since 2013-04-01; the "
        "date the maximum of 273f rose to twelve years (implementation of directive "
        "2011/36/EU) is not verified here.",
    ),
)


def term(code: str, on: date) -> RetentionTerm:
    """The version of term ``code`` in force on ``on``."""
    candidates = [t for t in TERMS if t.code == code and t.valid_from <= on]
    if not candidates:
        raise KeyError(f"no retention term {code} in force on {on.isoformat()}")
    return max(candidates, key=lambda t: t.valid_from)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; the 29th-31st fall back to the month's last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def term_ends(code: str, counted_from: date) -> date:
    """The first day the term no longer covers: the term runs from the day after
    ``counted_from`` and ends after ``years`` and ``months`` (the day of the same date)."""
    found = term(code, counted_from)
    return add_months(counted_from, found.years * 12 + found.months) + timedelta(days=1)


def limitation_ends(latest_offence_on: date, minor: bool) -> date | None:
    """The first day the right to prosecute art. 273f has lapsed, counted conservatively from
    the latest day the offence can have been committed; None: it never lapses."""
    regimes = [r for r in LIMITATION_273F if r.valid_from <= latest_offence_on]
    if not regimes:
        raise KeyError(f"no limitation regime for an offence on {latest_offence_on.isoformat()}")
    # The maximum penalty of the day the offence was committed decides the term (a higher
    # maximum later does not reach back, art. 1 Sr), so the regime of that day governs.
    regime = max(regimes, key=lambda r: r.valid_from)
    if regime.years is None:
        return None
    start = latest_offence_on
    if minor and regime.minor_counts_from_18th_birthday:
        start = add_months(latest_offence_on, 18 * 12)  # the latest possible 18th birthday
    return add_months(start, regime.years * 12) + timedelta(days=1)


@dataclass(frozen=True)
class ProceedingsState:
    """What the OM's term depends on, read from one suspect's proceedings."""

    registered_on: date
    final_on: date | None
    disposed_on: date | None
    """A dismissal or other disposal standing (not reopened since)."""


def om_link_expires(state: ProceedingsState, minor: bool = True) -> tuple[str, date] | None:
    """When the OM's link of these proceedings to its parketnummer must go, and under which
    term; None while it may not go yet by any term (open, reopened, or possibly reopened).

    - final proceedings: the Wjsg term, counted from the day they became final;
    - a standing dismissal or other disposal: only once the right to prosecute has lapsed
      (counted from the registration, the latest possible offence day) and then the Wjsg term
      from that day — for 273f that is never;
    - open (or reopened) proceedings: never by a term.
    """
    if state.final_on is not None:
        return "WJSG_ART39D_OM_CASE", term_ends("WJSG_ART39D_OM_CASE", state.final_on)
    if state.disposed_on is not None:
        try:
            lapsed = limitation_ends(state.registered_on, minor)
        except KeyError:
            return None  # no regime in the data: no term ketenzicht could apply
        if lapsed is None:
            return None
        return "WJSG_ART39D_OM_CASE", term_ends(
            "WJSG_ART39D_OM_CASE", max(lapsed, state.disposed_on)
        )
    return None


@dataclass(frozen=True)
class PoliceCaseState:
    """What the police's term depends on, as the investigation service knows one case.

    Investigation reads no other service's events: it does not know how the OM's proceedings
    went, nor the offence date, nor the victim's age."""

    registered_on: date
    """The day the source registered the case (``OpenCase``): the latest possible offence day."""
    ended_on: date | None
    """The day the investigation last ended — the latest of its last close
    (InvestigationClosed) and a decision not to investigate (NoInvestigationDecided) — or None
    while it is open (also suspended, or opened again after an end) or never began nor ended."""
    submitted: bool
    """Submitted to the OM (CaseSubmittedToProsecution) for any suspect."""


def police_link_expires(state: PoliceCaseState, minor: bool = True) -> tuple[str, date] | None:
    """When the police's link of this case to its registration number must go, and under which
    term; None while it may not go yet by any term.

    - open (also suspended, reopened, or never ended): never by a term;
    - submitted to the OM: never by a term — the OM may send it back for further investigation
      (and every act of prosecution restarts the limitation period, art. 72 Sr), and this
      service cannot see when the proceedings ended: the police give an erasure order then;
    - ended and not submitted: the investigation can be opened again as long as the right to
      prosecute stands, so the Wpg art. 9 term runs from the later of the end and the lapse
      (counted from the registration, the latest possible offence day) — for 273f since its
      twelve-year maximum, never.
    """
    if state.submitted or state.ended_on is None:
        return None
    try:
        lapsed = limitation_ends(state.registered_on, minor)
    except KeyError:
        return None  # no regime in the data: no term ketenzicht could apply
    if lapsed is None:
        return None
    return "WPG_ART9_INVESTIGATION", term_ends(
        "WPG_ART9_INVESTIGATION", max(lapsed, state.ended_on)
    )


__all__ = [
    "LIMITATION_273F",
    "TERMS",
    "CountedFrom",
    "LimitationRegime",
    "PoliceCaseState",
    "ProceedingsState",
    "RetentionTerm",
    "Source",
    "add_months",
    "limitation_ends",
    "om_link_expires",
    "police_link_expires",
    "term",
    "term_ends",
]
