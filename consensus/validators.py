"""The validator set: who votes, with how much power, what a quorum is, and who proposes when."""

from __future__ import annotations

import math
from dataclasses import dataclass

from corridor.keys import PUBLIC_KEY_BYTES


@dataclass(frozen=True, slots=True)
class Validator:
    name: str
    public_key: bytes
    power: int


def compute_quorum_power(total_power: int) -> int:
    """The least power that is strictly more than two thirds of `total_power`."""
    return total_power * 2 // 3 + 1


class ValidatorSet:
    """An ordered, immutable set of validators with voting power."""

    def __init__(self, validators: list[Validator]) -> None:
        if not validators:
            raise ValueError("a validator set needs at least one validator")
        keys = [v.public_key for v in validators]
        if len(set(keys)) != len(keys):
            raise ValueError("a validator appears twice in the set")
        for validator in validators:
            if len(validator.public_key) != PUBLIC_KEY_BYTES or validator.power <= 0:
                raise ValueError(f"validator {validator.name!r} needs a 32-byte key and positive power")
        self.validators = tuple(sorted(validators, key=lambda v: v.public_key))  # one canonical order
        self.total_power = sum(v.power for v in validators)
        self.quorum_power = compute_quorum_power(self.total_power)
        self._by_key = {v.public_key: v for v in validators}
        self._proposer_schedule = _weighted_schedule(self.validators)

    def proposer(self, height: int, round_number: int) -> Validator:
        """The proposer of (height, round): a fixed weighted round robin, so every node agrees without
        shared mutable state, and each validator proposes in proportion to its power."""
        return self._proposer_schedule[(height + round_number) % len(self._proposer_schedule)]

    def has_quorum(self, power: int) -> bool:
        """More than two thirds of the total power."""
        return power >= self.quorum_power

    def has_one_honest(self, power: int) -> bool:
        """More than one third of the total power: at least one honest validator is among them."""
        return 3 * power > self.total_power

    def get(self, public_key: bytes) -> Validator | None:
        return self._by_key.get(public_key)

    def __len__(self) -> int:
        return len(self.validators)


SCHEDULE_SLOTS_MAX = 10_000


def _weighted_schedule(validators: tuple[Validator, ...]) -> tuple[Validator, ...]:
    """One period of a smooth weighted round robin (the idea of CometBFT's proposer priorities, computed
    once): each slot goes to the validator with the highest accumulated priority, which then pays the total.
    Powers are divided by their greatest common divisor, so equal powers give a period of n slots."""
    divisor = math.gcd(*(v.power for v in validators))
    weights = [v.power // divisor for v in validators]
    period = sum(weights)
    if period > SCHEDULE_SLOTS_MAX:
        scale = period / SCHEDULE_SLOTS_MAX
        weights = [max(1, round(w / scale)) for w in weights]
        period = sum(weights)
    priorities = [0] * len(validators)
    schedule = []
    for _ in range(period):
        for index, weight in enumerate(weights):
            priorities[index] += weight
        chosen = max(range(len(validators)), key=lambda i: (priorities[i], -i))
        priorities[chosen] -= period
        schedule.append(validators[chosen])
    return tuple(schedule)
