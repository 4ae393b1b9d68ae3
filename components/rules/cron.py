"""A strict reader of five-field cron expressions, as Pulumi Cloud's schedules take them (evaluated in UTC).

Pulumi Deployments runs drift detection and scheduled deployments on a cron expression
(``scheduleCron``). A typo there is only found when the schedule silently never runs, or runs
every minute, so the expression is read here first: five fields (minute, hour, day of month,
month, day of week), each ``*``, a value, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a
comma-separated list of those. Months and weekdays may be named (``JAN``, ``MON``). Anything
the common cron dialects disagree on is refused: six fields (seconds), ``@daily`` macros,
``?``, ``L``, ``W``, ``#``, ``7`` for Sunday and ``a/n`` without a range.

Pure Python, no dependency: :func:`parse` gives the set of values each field matches, so a
rule can ask what the schedule really does (:func:`fires_daily`).

Example::

    >>> check_cron("0 6 * * *", "driftSchedule", code="fleet.drift-schedule")
    []
    >>> [v.code for v in check_cron("0 25 * * *", "driftSchedule", code="fleet.drift-schedule")]
    ['fleet.drift-schedule.range']
    >>> fires_daily(parse("0 6 * * 1-5"))
    False
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import Violation

FIELDS = (
    # name, low, high, names for values (index + offset)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_ITEM = re.compile(r"^(?:(?P<star>\*)|(?P<low>[0-9A-Za-z]+)(?:-(?P<high>[0-9A-Za-z]+))?)(?:/(?P<step>[0-9]+))?$")


class CronError(ValueError):
    """An expression that is not strict five-field cron. ``problem`` is ``fields``, ``syntax``,
    ``range`` or ``step``; ``field`` names the cron field (``hour``), when one is at fault."""

    def __init__(self, problem: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.problem = problem
        self.field = field


@dataclass(frozen=True)
class Schedule:
    """What a cron expression matches: one set of values per field, and which day fields were ``*``."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    day_of_month_star: bool
    """The day-of-month field starts with ``*``: cron then matches days on the day of week alone (and vice versa)."""
    day_of_week_star: bool

    def matches_day(self, day_of_month: int, month: int, day_of_week: int) -> bool:
        """Does the schedule run on this date (at some time)? ``day_of_week``: 0 is Sunday.

        Cron's rule: when both day fields are restricted a day matches if EITHER does; when one
        of them is ``*``, the other alone decides.
        """
        if month not in self.months:
            return False
        by_month_day = day_of_month in self.days_of_month
        by_week_day = day_of_week in self.days_of_week
        if self.day_of_month_star or self.day_of_week_star:
            return by_month_day and by_week_day
        return by_month_day or by_week_day


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.isascii() and text.isdigit():
        number = int(text)
    elif text.upper() in names:
        number = names.index(text.upper()) + low
    else:
        known = f" or a name ({', '.join(names)})" if names else ""
        raise CronError("syntax", f"has {text!r} in the {name} field: expected a number{known}", name)
    if not low <= number <= high:
        hint = " (Sunday is 0)" if name == "day of week" and number == 7 else ""
        raise CronError("range", f"has {number} in the {name} field, which takes {low}-{high}{hint}", name)
    return number


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise CronError("syntax", f"has {item!r} in the {name} field: use *, a value, a range a-b, "
                                      "a step */n or a-b/n, or a comma-separated list of those", name)
        if match["star"]:
            first, last = low, high
        else:
            first = _value(match["low"], name, low, high, names)
            last = _value(match["high"], name, low, high, names) if match["high"] else first
            if match["step"] and not match["high"]:
                raise CronError("syntax", f"has {item!r} in the {name} field: a step needs a range or * "
                                          f"({match['low']}-{high}/{match['step']})", name)
            if last < first:
                raise CronError("range", f"has the range {item!r} in the {name} field, which runs backwards", name)
        step = int(match["step"]) if match["step"] else 1
        if not 1 <= step <= high - low + 1:
            raise CronError("step", f"has the step /{step} in the {name} field: it must be 1-{high - low + 1}", name)
        values.update(range(first, last + 1, step))
    return frozenset(values)


def parse(expression: str) -> Schedule:
    """The schedule of a strict five-field cron expression, or :class:`CronError`."""
    if not isinstance(expression, str):
        raise CronError("syntax", "must be a cron expression (a string)")
    parts = expression.split()
    if parts and parts[0].startswith("@"):
        raise CronError("syntax", f"uses the macro {parts[0]!r}, which not every scheduler knows: write the five "
                                  "fields (e.g. '0 0 * * *' for daily at midnight UTC)")
    if len(parts) != len(FIELDS):
        raise CronError("fields", f"has {len(parts)} fields: cron takes 5 (minute hour day-of-month month day-of-week)")
    sets = [_field(part, *spec) for part, spec in zip(parts, FIELDS)]
    return Schedule(*sets, day_of_month_star=parts[2].startswith("*"), day_of_week_star=parts[4].startswith("*"))


def fires_daily(schedule: Schedule) -> bool:
    """Does the schedule run at least once on every calendar day?

    Every month must be in it, and every (day of month, day of week) pair must match; a day of
    month that some month lacks (31) matters only if it were the only way to match.
    """
    if len(schedule.months) != 12:
        return False
    every_month_day = set(range(1, 32)) <= schedule.days_of_month
    every_week_day = set(range(7)) <= schedule.days_of_week
    if schedule.day_of_month_star or schedule.day_of_week_star:
        return every_month_day and every_week_day
    return every_month_day or every_week_day


def check_cron(expression: object, field: str, *, code: str) -> list[Violation]:
    """A strict five-field cron expression. Codes: ``<code>.type``, ``.fields``, ``.syntax``, ``.range``, ``.step``."""
    if not isinstance(expression, str):
        return [Violation(field, expression, "must be a cron expression, e.g. '0 6 * * *' (daily at 06:00 UTC)",
                          code=f"{code}.type")]
    try:
        parse(expression)
    except CronError as error:
        return [Violation(field, expression, str(error), code=f"{code}.{error.problem}")]
    return []


__all__ = ["CronError", "FIELDS", "Schedule", "check_cron", "fires_daily", "parse"]
