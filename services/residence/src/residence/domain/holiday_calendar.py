"""The days R8's working days skip: the Algemene termijnenwet (Atw) art. 3, as dated data.

R8 counts 20 working days (werkdagen) after a Dublin claimant's report. A working day is a
Monday to Friday that is not an algemeen erkende feestdag in the sense of the Atw, the Act that
says which days a statutory term (wettelijke termijn) treats like a Sunday. This module is the
project's own copy of those days, so that no library upgrade can move a deadline or a trigger
key (R8's trigger key holds the target date; docs/adr/0013-working-days-as-dated-data.md). It
is pure: no I/O, no clock.

The days counted, for every year from 2001 (the Vreemdelingenwet 2000, from which the rules
apply, took effect on 2001-04-01) to 2035; any other year raises `CalendarNotCoveredError`
rather than count its holidays as working days:

* Atw art. 3(1), the algemeen erkende feestdagen: New Year's Day (Nieuwjaarsdag), Easter Monday
  (tweede Paasdag), Ascension Day (Hemelvaartsdag), Whit Monday (tweede Pinksterdag), Christmas
  Day and Boxing Day (de beide Kerstdagen), the day on which the King's birthday is celebrated,
  and 5 May (de vijfde mei, Liberation Day). 5 May has been in the Atw list every year since the
  amendment that added it (bill of 18 June 1981), whatever a CAO says about a day off only in
  lustrum years, so it is a non-working day in every covered year. Easter Sunday and Whit
  Sunday are not listed: they are Sundays, never working days anyway.
* The King's birthday: Queen's Day (Koninginnedag) until 2013, 30 April (KB of 24 April 1980,
  nr. 11); King's Day (Koningsdag) from 2014, 27 April (Besluit of 30 January 2013, nr.
  13.000173, Stcrt. 2013, 4075). Both decrees say "behoudens uitzonderingen in verband met
  zondagen", and in practice a Sunday moves the day to the Saturday before: 29 April 2006,
  26 April 2014 and 2025 (and 2031). Such a Saturday changes no count, but the dates are kept
  right for the cross-check against the `holidays` library.
* Atw art. 3(2): Good Friday (Goede Vrijdag) is equated with those days.
* Atw art. 3(3): days equated by royal decree, published in the Staatscourant for a few years at
  a time ("Besluit gelijkstelling van ... met een algemeen erkende feestdag"), typically the
  Friday after Ascension Day and a Monday or Friday between a holiday and the weekend. Only the
  decrees in `EQUATING_DECREES` are encoded, each with where its days were read. For the other
  covered years the decree days are NOT encoded (see `years_without_decree_data`):
  2001–2013, because those decrees' texts could not be read here (one is known to equate 14 May
  2010, but not what else it lists, and half a decree would look complete); 2020–2022, because
  no reliable source was found (one page lists Friday 27 May 2022, next to an impossible "Friday
  31 May"); 2029–2035, because no decree for them had been issued by the sources' dates. In
  those years a decree day counts as a working day, so an R8 target that spans one comes a
  working day early for each. 2020–2022 lie inside R8's period (reports from 2019-08-01): that
  gap is the one that matters. Add a decree here, with its source, when its text is at hand.

Easter, and with it Good Friday (−2), Easter Monday (+1), Ascension Day (+39) and Whit Monday
(+50), is computed with `dateutil.easter` (the Western computus), a maintained library that is
a pinned dependency, rather than a hand-written computus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

from dateutil.easter import easter

FIRST_COVERED_YEAR = 2001
LAST_COVERED_YEAR = 2035


class CalendarNotCoveredError(ValueError):
    """A day outside the years whose Atw days are encoded; counting it would be a guess."""

    def __init__(self, day: date) -> None:
        super().__init__(
            f"{day.isoformat()} is outside the working-day calendar "
            f"({FIRST_COVERED_YEAR}–{LAST_COVERED_YEAR}): the days of the Algemene "
            "termijnenwet are encoded for those years only (residence.domain.holiday_calendar)"
        )
        self.day = day


class Basis(StrEnum):
    """Why a day is an algemeen erkende feestdag for the Atw."""

    ATW_3_1 = "Atw art. 3(1)"
    ATW_3_2 = "Atw art. 3(2)"
    ATW_3_3 = "Atw art. 3(3)"


@dataclass(frozen=True, slots=True)
class GeneralHoliday:
    """One day that a statutory term treats like a Sunday (algemeen erkende feestdag)."""

    day: date
    name: str
    dutch_name: str
    basis: Basis
    source: str


@dataclass(frozen=True, slots=True)
class EquatedDay:
    """One day a decree equates (gelijkgestelde dag), and the holiday it bridges to."""

    day: date
    name: str


@dataclass(frozen=True, slots=True)
class EquatingDecree:
    """A royal decree under Atw art. 3(3) equating days with an algemeen erkende feestdag.

    ``first_year``–``last_year`` are the years it provides for; ``days`` are all the days it
    equates, as it names them; ``read`` says where they were read, because for some decrees only
    their title (which names every day) could be read, not the published text.
    """

    citation: str
    first_year: int
    last_year: int
    days: tuple[EquatedDay, ...]
    read: str


EQUATING_DECREES: tuple[EquatingDecree, ...] = (
    EquatingDecree(
        citation=(
            "Besluit van 17 juni 2013, nr. 13.001210, houdende gelijkstelling van 30 mei 2014, "
            "2 januari, 4 en 15 mei 2015 en 6 mei 2016 met een algemeen erkende feestdag"
        ),
        first_year=2014,
        last_year=2016,
        days=(
            EquatedDay(date(2014, 5, 30), "Friday after Ascension Day"),
            EquatedDay(date(2015, 1, 2), "Friday after New Year's Day"),
            EquatedDay(date(2015, 5, 4), "Monday before 5 May"),
            EquatedDay(date(2015, 5, 15), "Friday after Ascension Day"),
            EquatedDay(date(2016, 5, 6), "Friday after Ascension Day (and 5 May)"),
        ),
        read=(
            "the decree's title, as quoted by mr. W.G.H.M. van der Putten (uitvaart.nl, "
            "question 44571, 15 December 2015); the Staatscourant text was not read"
        ),
    ),
    EquatingDecree(
        citation=(
            "Besluit van 24 oktober 2016, nr. 2016001827, houdende gelijkstelling van 28 april "
            "en 26 mei 2017, 11 mei en 24 en 31 december 2018 en 31 mei en 27 december 2019 "
            "met een algemeen erkende feestdag (Stcrt. 2016, 58653)"
        ),
        first_year=2017,
        last_year=2019,
        days=(
            EquatedDay(date(2017, 4, 28), "Friday after King's Day"),
            EquatedDay(date(2017, 5, 26), "Friday after Ascension Day"),
            EquatedDay(date(2018, 5, 11), "Friday after Ascension Day"),
            EquatedDay(date(2018, 12, 24), "Monday before Christmas Day"),
            EquatedDay(date(2018, 12, 31), "Monday before New Year's Day"),
            EquatedDay(date(2019, 5, 31), "Friday after Ascension Day"),
            EquatedDay(date(2019, 12, 27), "Friday after Boxing Day"),
        ),
        read="article 1 of the decree, wetten.overheid.nl BWBR0038666 (version of 2016-11-01)",
    ),
    EquatingDecree(
        citation=(
            "Besluit gelijkstelling van 28 april 2023, 19 mei 2023, 10 mei 2024, 27 december "
            "2024 en 30 mei 2025 met een algemeen erkende feestdag"
        ),
        first_year=2023,
        last_year=2025,
        days=(
            EquatedDay(date(2023, 4, 28), "Friday after King's Day"),
            EquatedDay(date(2023, 5, 19), "Friday after Ascension Day"),
            EquatedDay(date(2024, 5, 10), "Friday after Ascension Day"),
            EquatedDay(date(2024, 12, 27), "Friday after Boxing Day"),
            EquatedDay(date(2025, 5, 30), "Friday after Ascension Day"),
        ),
        read=(
            "the decree's citation title, as quoted by mr. W.G.H.M. van der Putten "
            "(sterfgeval.nl, question 70745, 4 October 2025); the decree's text was not read"
        ),
    ),
    EquatingDecree(
        citation=(
            "Besluit gelijkstelling van 2 januari 2026, 15 mei 2026, 7 mei 2027, 28 april 2028 "
            "en 26 mei 2028 met een algemeen erkende feestdag (BWBR0051300)"
        ),
        first_year=2026,
        last_year=2028,
        days=(
            EquatedDay(date(2026, 1, 2), "Friday after New Year's Day"),
            EquatedDay(date(2026, 5, 15), "Friday after Ascension Day"),
            EquatedDay(date(2027, 5, 7), "Friday after Ascension Day"),
            EquatedDay(date(2028, 4, 28), "Friday after King's Day"),
            EquatedDay(date(2028, 5, 26), "Friday after Ascension Day"),
        ),
        read=(
            "the decree's citation title, as quoted in sterfgeval.nl question 70745; the same "
            "days under BWBR0051300 in the yasumi holiday library (pull request 393)"
        ),
    ),
)


def years_without_decree_data() -> tuple[int, ...]:
    """Covered years for which no Atw art. 3(3) decree is encoded (see the module docstring)."""
    with_data = {y for d in EQUATING_DECREES for y in range(d.first_year, d.last_year + 1)}
    return tuple(y for y in range(FIRST_COVERED_YEAR, LAST_COVERED_YEAR + 1) if y not in with_data)


def _kings_birthday(year: int) -> GeneralHoliday:
    # Both decrees make exceptions for Sundays; the celebration has then moved to the Saturday
    # before (29 April 2006, 26 April 2014 and 2025).
    if year >= 2014:
        day = date(year, 4, 27)
        name, dutch, source = "King's Day", "Koningsdag", "Besluit 30 januari 2013, nr. 13.000173"
    else:
        day = date(year, 4, 30)
        name, dutch, source = "Queen's Day", "Koninginnedag", "KB 24 april 1980, nr. 11"
    if day.weekday() == 6:
        day -= timedelta(days=1)
    return GeneralHoliday(day, name, dutch, Basis.ATW_3_1, f"Atw art. 3(1); {source}")


def _statutory_holidays(year: int) -> list[GeneralHoliday]:
    sunday = easter(year)

    def art_3_1(day: date, name: str, dutch: str) -> GeneralHoliday:
        return GeneralHoliday(day, name, dutch, Basis.ATW_3_1, "Atw art. 3(1)")

    return [
        art_3_1(date(year, 1, 1), "New Year's Day", "Nieuwjaarsdag"),
        GeneralHoliday(
            sunday - timedelta(days=2),
            "Good Friday",
            "Goede Vrijdag",
            Basis.ATW_3_2,
            "Atw art. 3(2)",
        ),
        art_3_1(sunday + timedelta(days=1), "Easter Monday", "tweede Paasdag"),
        _kings_birthday(year),
        art_3_1(date(year, 5, 5), "Liberation Day", "Bevrijdingsdag (de vijfde mei)"),
        art_3_1(sunday + timedelta(days=39), "Ascension Day", "Hemelvaartsdag"),
        art_3_1(sunday + timedelta(days=50), "Whit Monday", "tweede Pinksterdag"),
        art_3_1(date(year, 12, 25), "Christmas Day", "eerste Kerstdag"),
        art_3_1(date(year, 12, 26), "Boxing Day", "tweede Kerstdag"),
    ]


def _decree_holidays(year: int) -> list[GeneralHoliday]:
    return [
        GeneralHoliday(
            equated.day, equated.name, "gelijkgestelde dag", Basis.ATW_3_3, decree.citation
        )
        for decree in EQUATING_DECREES
        for equated in decree.days
        if equated.day.year == year
    ]


def ensure_covered(day: date) -> None:
    """Raise `CalendarNotCoveredError` unless ``day`` lies in a covered year."""
    if not FIRST_COVERED_YEAR <= day.year <= LAST_COVERED_YEAR:
        raise CalendarNotCoveredError(day)


@lru_cache(maxsize=64)
def general_holidays(year: int) -> tuple[GeneralHoliday, ...]:
    """Every Atw day of ``year``, by date (two names may share a date, e.g. 5 May 2016)."""
    ensure_covered(date(year, 1, 1))
    return tuple(sorted(_statutory_holidays(year) + _decree_holidays(year), key=lambda h: h.day))


@lru_cache(maxsize=64)
def _holiday_dates(year: int) -> frozenset[date]:
    return frozenset(h.day for h in general_holidays(year))


def is_general_holiday(day: date) -> bool:
    """An algemeen erkende feestdag, or a day equated with one, for the Atw."""
    ensure_covered(day)
    return day in _holiday_dates(day.year)
