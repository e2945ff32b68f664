"""How long each urgency may take (the deadline policy) and the two deadlines of a record."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gateway.deadlines.duration import Duration, parse_duration
from gateway.model import Urgency

if TYPE_CHECKING:  # only named in signatures: reading settings needs no holiday tables
    from gateway.deadlines.worktime import Deadline, WorkCalendar

KINDS = ("response", "resolution")

_DEFAULTS: dict[tuple[Urgency, str], str] = {
    (Urgency.NORMAL, "response"): "3 working days",
    (Urgency.URGENT, "response"): "24 hours",
    (Urgency.CRITICAL, "response"): "4 hours",
    (Urgency.NORMAL, "resolution"): "10 working days",
    (Urgency.URGENT, "resolution"): "3 working days",
    (Urgency.CRITICAL, "resolution"): "1 working day",
}


@dataclass(frozen=True)
class DeadlinePolicy(Mapping[tuple[Urgency, str], Duration]):
    """How long each (urgency, kind) may take. The defaults (DOMAIN.md, seed 002):

    | urgency  | response       | resolution      |
    |----------|----------------|-----------------|
    | normal   | 3 working days | 10 working days |
    | urgent   | 24 clock hours | 3 working days  |
    | critical | 4 clock hours  | 1 working day   |
    """

    table: Mapping[tuple[Urgency, str], Duration] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [f"{u}.{k}" for u in Urgency for k in KINDS if (u, k) not in self.table]
        if missing:
            raise ValueError(f"deadline policy lacks {', '.join(missing)}")
        object.__setattr__(self, "table", MappingProxyType(dict(self.table)))

    def __getitem__(self, key: tuple[Urgency, str]) -> Duration:
        return self.table[key]

    def __iter__(self) -> Iterator[tuple[Urgency, str]]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    __hash__ = None  # type: ignore[assignment]  # holds a mapping

    @classmethod
    def default(cls) -> DeadlinePolicy:
        return cls({key: parse_duration(text) for key, text in _DEFAULTS.items()})

    @classmethod
    def from_mapping(cls, m: Mapping[str, Mapping[str, str]] | None) -> DeadlinePolicy:
        """Config's [deadlines] table ({"urgent": {"response": "8 hours"}}) over the defaults."""
        return cls.default().with_overrides(m)

    def with_overrides(
        self, m: Mapping[str, Mapping[str, str]] | None, where: str = "deadlines"
    ) -> DeadlinePolicy:
        """A new policy with `m` merged over this one; errors name the offending key."""
        table = dict(self.table)
        for u_key, inner in (m or {}).items():
            urgency = _urgency(u_key, where)
            if not isinstance(inner, Mapping):
                # A config error, which the loader reports as ValueError like the others.
                raise ValueError(  # noqa: TRY004
                    f"{where}.{u_key}: expected a table with response/resolution"
                )
            for kind, text in inner.items():
                name = str(kind).strip().lower()
                if name not in KINDS:
                    raise ValueError(
                        f"{where}.{u_key}.{kind}: unknown kind; expected {' or '.join(KINDS)}"
                    )
                try:
                    table[(urgency, name)] = parse_duration(text)
                except ValueError as e:
                    raise ValueError(f"{where}.{u_key}.{kind}: {e}") from None
        return DeadlinePolicy(table)

    def deadline(
        self, start: datetime, urgency: Urgency, kind: str, calendar: WorkCalendar
    ) -> Deadline:
        if kind not in KINDS:
            raise ValueError(f"unknown deadline kind {kind!r}; expected {' or '.join(KINDS)}")
        return calendar.add(start, self[(Urgency(urgency), kind)])


def _urgency(key: object, where: str) -> Urgency:
    try:
        return Urgency(str(key).strip().lower())
    except ValueError:
        known = ", ".join(u.value for u in Urgency)
        raise ValueError(f"{where}.{key}: unknown urgency; expected one of {known}") from None


def record_deadlines(
    start: datetime, urgency: Urgency, policy: DeadlinePolicy, calendar: WorkCalendar,
    overrides: dict[str, Any] | None = None,
) -> tuple[Deadline, Deadline]:
    """(response, resolution) for a record opened at `start`, with a rule's overrides if any.

    Used when a record opens and when a staff reply re-grades it (紧急程度: …).
    """
    effective = policy.with_overrides(overrides) if overrides else policy
    return (effective.deadline(start, urgency, "response", calendar),
            effective.deadline(start, urgency, "resolution", calendar))
