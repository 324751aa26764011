"""The validator set: who votes, with how much power, and what a quorum is."""

from __future__ import annotations

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
        self.validators = tuple(validators)
        self.total_power = sum(v.power for v in validators)
        self.quorum_power = compute_quorum_power(self.total_power)
        self._by_key = {v.public_key: v for v in validators}

    def get(self, public_key: bytes) -> Validator | None:
        return self._by_key.get(public_key)

    def __len__(self) -> int:
        return len(self.validators)
