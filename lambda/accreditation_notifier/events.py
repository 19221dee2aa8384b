"""Step Functions events read the same way by both functions of the zip: a JSON object whose required
fields are non-empty strings and whose as_of is a calendar date, every problem collected and reported at
once, by field name, in one InvalidEventError.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from accreditation_notifier.errors import InvalidEventError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def calendar_date(text: str) -> dt.date | None:
    """A real YYYY-MM-DD date, or None."""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def as_folder(location: str) -> str:
    return location if location.endswith("/") else location + "/"


class EventFields:
    """The fields of one event, and the problems found in them so far."""

    def __init__(self, event: object) -> None:
        if not isinstance(event, Mapping):
            raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}")
        self.event: Mapping[str, object] = event
        self.problems: list[str] = []

    def required_texts(self, names: Iterable[str]) -> dict[str, str]:
        """The stripped values of the fields that are non-empty strings; a problem for each other one."""
        texts: dict[str, str] = {}
        for name in names:
            value = self.event.get(name)
            if value is None:
                self.problems.append(f"{name}: missing")
            elif not isinstance(value, str) or not value.strip():
                self.problems.append(f"{name}: must be a non-empty string, got {value!r}")
            else:
                texts[name] = value.strip()
        return texts

    def calendar_date(self, name: str, texts: Mapping[str, str]) -> dt.date | None:
        """The date of a field required_texts returned; None, and a problem unless it was missing."""
        if name not in texts:
            return None
        date = calendar_date(texts[name])
        if date is None:
            self.problems.append(f"{name}: must be a calendar date YYYY-MM-DD, got {texts[name]!r}")
        return date

    def refuse_if_any(self, summary: str = "") -> None:
        if self.problems:
            raise InvalidEventError(summary + "; ".join(self.problems))
