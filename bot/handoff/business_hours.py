"""When the sales team works, so the visitor is told the truth about when to expect a reply."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import Settings, SettingsError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(r"^\s*(\w{3})(?:\s*-\s*(\w{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours such as "Mon-Fri 09:00-17:30", in one time zone. Several ranges: ";"-separated."""

    ranges: tuple[tuple[frozenset[int], time, time], ...]
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, timezone: str) -> "BusinessHours":
        ranges = []
        for part in spec.split(";"):
            match = _SPEC.match(part.lower())
            if not match:
                raise ValueError(f"business hours {part!r} must look like 'Mon-Fri 09:00-17:00'")
            first, last, h1, m1, h2, m2 = match.groups()
            if first not in DAYS or (last and last not in DAYS):
                raise ValueError(f"unknown day in {part!r}; use Mon, Tue, ... Sun")
            start, end = DAYS.index(first), DAYS.index(last or first)
            days = frozenset(range(start, end + 1)) if start <= end else frozenset([*range(start, 7), *range(0, end + 1)])
            opens, closes = time(int(h1), int(m1)), time(int(h2), int(m2))
            if opens >= closes:
                raise ValueError(f"in {part!r} the opening time must be before the closing time")
            ranges.append((days, opens, closes))
        return cls(tuple(ranges), ZoneInfo(timezone))

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return any(local.weekday() in days and opens <= local.time() < closes for days, opens, closes in self.ranges)

    def next_opening(self, moment: datetime) -> Optional[datetime]:
        """The next time the team is in, in the team's time zone (None if never)."""
        local = moment.astimezone(self.zone)
        for offset in range(0, 8):
            day = (local + timedelta(days=offset)).date()
            for days, opens, _ in sorted(self.ranges, key=lambda r: r[1]):
                candidate = datetime.combine(day, opens, tzinfo=self.zone)
                if day.weekday() in days and candidate > local:
                    return candidate
        return None


def check_schedule(settings: Settings) -> None:
    """Refuse a bad schedule at start-up (`lantern` checks it before starting anything), not
    when a visitor has just become a lead."""
    try:
        BusinessHours.parse(settings.business_hours, settings.timezone)
    except ZoneInfoNotFoundError as error:
        raise SettingsError(f"LANTERN_TIMEZONE {settings.timezone!r} is not a known time zone") from error
    except ValueError as error:
        raise SettingsError(f"LANTERN_BUSINESS_HOURS: {error}") from error


def team_back(hours: BusinessHours, moment: datetime) -> str:
    """When the team is next in, as a visitor reads it: "Monday at 09:00 (UTC)"."""
    opening = hours.next_opening(moment)
    return f"{opening.strftime('%A at %H:%M')} ({hours.zone.key})" if opening else "as soon as they can"


def reply_expectation(hours: BusinessHours, moment: datetime, follow_up: str) -> str:
    """What to promise the visitor: only what the schedule allows."""
    how = {"call": "call you", "email": "email you", "chat now": "reply here or by email"}.get(follow_up, "get back to you")
    if hours.is_open(moment):
        return f"The team is in now, so someone will {how} as soon as they're free, usually within working hours today."
    opening = hours.next_opening(moment)
    if opening is None:
        return f"Someone will {how} as soon as the team is back."
    return f"The team is out right now; they're back {opening.strftime('%A at %H:%M')} ({hours.zone.key}) and will {how} then."
