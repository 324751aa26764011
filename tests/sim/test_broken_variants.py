"""The simulator earns trust by catching mistakes. Each test breaks consensus in one classic way (with
monkeypatch, inside the test only), searches a bounded number of seeds with a Byzantine validator until a
safety violation shows up, asserts that it does, and asserts that the unbroken code shows none on the same
seeds.

- quorum of 2f instead of 2f+1 (power >= 2/3 of the total rounded down);
- the lock ignored by the prevote rules (L22, L28);
- signatures without the chain id, with a Byzantine validator replaying another chain's votes.
"""

from __future__ import annotations

from typing import Callable

import pytest

from corridor import codec
from corridor.consensus import certificate, messages, validators
from corridor.consensus.core import Core
from simulation import (
    FORK,
    Simulation,
    fault_tolerance,
    build_lock_scenario,
    capture_foreign_chain,
    run_random_schedule,
    run_replay_attack,
)

SEARCH_SEEDS_MAX = 40  # the searches below find their violation well within this many seeds ...
LOCK_ATTACK_SEEDS_MAX = 200  # ... except the random lock attack: about 1 seed in 25 forks without the lock
ATTACKING_MIXES = ("equivocator", "double-voter", "lock-attacker")
# Since a double voter's second vote counts for its own block too (the uncounted-equivocation fix), double
# voting alone no longer splits the honest nodes' views: with 7 validators a quorum of 2f is caught when the
# f Byzantine validators both equivocate as proposers and double-vote (about 1 seed in 7 forks).
QUORUM_SEARCH_MIXES = {4: ATTACKING_MIXES, 7: ("equivocator+double-voter",)}

RunSeed = Callable[[int], Simulation]


def first_violation(run: RunSeed, seeds: range) -> tuple[Simulation | None, list[int]]:
    searched: list[int] = []
    for seed in seeds:
        searched.append(seed)
        sim = run(seed)
        if any(FORK in violation for violation in sim.violations):
            return sim, searched
    return None, searched


def caught_only_when_broken(
    monkeypatch: pytest.MonkeyPatch,
    break_it: Callable[[pytest.MonkeyPatch], None],
    make_run: Callable[[], RunSeed],
    what: str,
    seeds_max: int = SEARCH_SEEDS_MAX,
) -> Simulation:
    """Search with the broken code; then replay the searched seeds with the real code."""
    with monkeypatch.context() as patched:
        break_it(patched)
        broken, searched = first_violation(make_run(), range(seeds_max))
    assert broken is not None, f"{what}: no two honest nodes committed different blocks in seeds 0..{seeds_max - 1}"
    run = make_run()
    for seed in searched:
        sim = run(seed)
        assert sim.violations == [], (
            f"the real code violates safety on seed {seed} ({what} search):\n  " + "\n  ".join(sim.violations)
            + f"\n{sim.report()}"
        )
    return broken


def random_schedules(validators: int, mixes: tuple[str, ...]) -> Callable[[], RunSeed]:
    def make_run() -> RunSeed:
        def run(seed: int) -> Simulation:
            return run_random_schedule(seed, validators, mix=mixes[seed % len(mixes)], halt_on_violation=FORK).sim

        return run

    return make_run


# (a) A quorum of 2f ---------------------------------------------------------------------------------------------


def quorum_of_two_f(monkeypatch: pytest.MonkeyPatch) -> None:
    # ValidatorSet.quorum_power feeds both has_quorum (the core) and verify_certificate, so the broken
    # quorum is broken consistently: what gets caught is a real fork, not a certificate the checker refuses.
    monkeypatch.setattr(validators, "compute_quorum_power", lambda total_power: total_power * 2 // 3)


@pytest.mark.parametrize("validator_count", [4, 7])
def test_a_quorum_of_two_f_is_caught(monkeypatch: pytest.MonkeyPatch, validator_count: int) -> None:
    search = random_schedules(validator_count, QUORUM_SEARCH_MIXES[validator_count])
    broken = caught_only_when_broken(monkeypatch, quorum_of_two_f, search, "quorum of 2f")
    assert broken.validators.quorum_power == 2 * fault_tolerance(validator_count)  # the broken run's: 2f


# (b) The lock ignored -------------------------------------------------------------------------------------------


def ignore_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prevote rules (L22 and L28) stop reading the lock: every rule runs as if nothing were locked,
    and the lock the core takes at L36 is kept only for its own bookkeeping."""
    fire_one_rule = Core._fire_one_rule

    def fire_one_rule_ignoring_the_lock(self: Core, actions: list) -> bool:
        kept = (self.locked_round, self.locked_value)
        self.locked_round, self.locked_value = -1, None
        try:
            return fire_one_rule(self, actions)
        finally:
            if (self.locked_round, self.locked_value) == (-1, None):
                self.locked_round, self.locked_value = kept

    monkeypatch.setattr(Core, "_fire_one_rule", fire_one_rule_ignoring_the_lock)


def lock_scenarios() -> RunSeed:
    def run(seed: int) -> Simulation:
        sim = build_lock_scenario(seed).sim
        sim.halt_on_violation = FORK
        sim.start()
        sim.run_for(3_000)
        return sim

    return run


def test_ignoring_the_lock_is_caught_by_the_lock_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    caught_only_when_broken(monkeypatch, ignore_the_lock, lock_scenarios, "lock ignored (scenario)")


def test_ignoring_the_lock_is_caught_by_random_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    search = random_schedules(4, ("lock-attacker",))
    caught_only_when_broken(monkeypatch, ignore_the_lock, search, "lock ignored (random)", LOCK_ATTACK_SEEDS_MAX)


# (c) Signatures without the chain id ---------------------------------------------------------------------------


def sign_without_the_chain_id(monkeypatch: pytest.MonkeyPatch) -> None:
    def vote_bytes(chain_id: str, step: str, height: int, round_number: int, block_hash: bytes) -> bytes:
        return codec.encode([certificate.VOTE_DOMAIN, step, height, round_number, block_hash])

    def proposal_bytes(chain_id: str, height: int, round_number: int, block_hash: bytes, valid_round: int) -> bytes:
        return codec.encode([messages.PROPOSAL_DOMAIN, height, round_number, block_hash, valid_round])

    monkeypatch.setattr(certificate, "vote_signing_bytes", vote_bytes)  # certificates
    monkeypatch.setattr(messages, "vote_signing_bytes", vote_bytes)  # Vote.signing_bytes
    monkeypatch.setattr(messages, "proposal_signing_bytes", proposal_bytes)  # Proposal.signing_bytes


def replay_attacks() -> RunSeed:
    """The other chain runs the same software as this one (broken or not), with the same validator keys."""
    foreign = capture_foreign_chain(validators=4, heights=8)
    return lambda seed: run_replay_attack(seed, foreign)


def test_signatures_without_the_chain_id_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    caught_only_when_broken(monkeypatch, sign_without_the_chain_id, replay_attacks, "no chain id in signatures")
    sim = replay_attacks()(0)
    refused = sum(node.bad_signatures for node in sim.honest_nodes)
    assert refused > 0, "with the chain id in every signature, the replayed messages are refused"
