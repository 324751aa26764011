"""What applying a transaction did, and what a rule may know about the block it runs in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corridor.ledger.refusals import Refusal


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one transaction did: `refusal` is None when it was applied, with its events."""

    refusal: Refusal | None
    events: tuple[dict[str, Any], ...] = field(default=())

    @property
    def applied(self) -> bool:
        return self.refusal is None


def refused(refusal: Refusal) -> Outcome:
    return Outcome(refusal)


def applied(*events: dict[str, Any]) -> Outcome:
    return Outcome(None, tuple(events))


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What a rule may know about the block it runs in."""

    height: int
    time_ms: int
