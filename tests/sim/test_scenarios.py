"""Hand-written scenarios on the simulator's harness (like TigerBeetle's replica_test.zig): each one builds a
precise situation, checks that it really happened, and then checks the property it is about.

Four of them reduce liveness bugs this simulator found in consensus/ (uncounted-equivocation,
restart-skips-round, restart-forgets-valid-value, restart-loses-earlier-round-votes); they were strict
xfails until the fixes, and now guard against their return.
"""

from __future__ import annotations

import pytest

from corridor import codec
from corridor.consensus.certificate import PRECOMMIT
from corridor.consensus.core import Resume, Step
from corridor.consensus.evidence import Equivocation
from corridor.consensus.messages import PREVOTE, Vote
from simulation import (
    CALM_NETWORK,
    CHAIN_ID,
    DROP,
    HonestNode,
    LivenessStalled,
    NetworkFaults,
    Simulation,
    VoteMessage,
    build_forgotten_valid_value_scenario,
    build_lock_scenario,
    build_uncounted_equivocation_scenario,
    fault_tolerance,
    height_one_proposers,
    proposer_index,
    require_progress,
)


def no_violations(sim: Simulation) -> None:
    assert sim.violations == [], "SAFETY violated:\n  " + "\n  ".join(sim.violations) + "\n" + sim.report()
    refusals = [text for node in sim.honest_nodes for text in node.double_sign_refusals]
    assert refusals == [], f"an honest guard had to refuse the core: {refusals}\n{sim.report()}"


def same_chains(sim: Simulation) -> None:
    """Every honest node holds the same block at every height it committed."""
    for height in range(1, max(node.committed_height for node in sim.honest_nodes) + 1):
        hashes = {node.chain[height].block_hash for node in sim.honest_nodes if height in node.chain}
        assert len(hashes) == 1, f"height {height}: {len(hashes)} different blocks\n{sim.report()}"


def block_origin(node: HonestNode, height: int) -> tuple[int, int]:
    """(round, proposer index) written into a committed block's payload by the node that built it."""
    _, _, payload_height, round_number, proposer, *_ = codec.decode(node.chain[height].payload, 1024)
    assert payload_height == height
    return round_number, proposer


def test_round0_proposer_down_round1_commits() -> None:
    sim = Simulation(seed=1, validators=4, network=CALM_NETWORK)
    down = proposer_index(sim, 1, 0)
    sim.start(down=(down,))
    running = [node for node in sim.nodes if node.index != down]
    require_progress(sim, lambda s: all(n.committed_height >= 1 for n in running), 10_000, "height 1 without v%d" % down)
    assert [node.commit_rounds[1] for node in running] == [1, 1, 1]
    assert block_origin(running[0], 1) == (1, proposer_index(sim, 1, 1))
    sim.restart(down)  # the proposer comes back and catches up
    require_progress(sim, lambda s: s.min_honest_height() >= 4, 20_000, "catching up after the restart")
    no_violations(sim)
    same_chains(sim)


def run_crash_after_signing_precommit(sim: Simulation, victim_index: int, height: int) -> Vote:
    """Crash `victim_index` right after the guard persisted its first precommit at `height`, before the
    precommit is sent; return that precommit."""
    signed: list[Vote] = []

    def crash_once(node: HonestNode, vote: Vote) -> bool:
        if node.index == victim_index and vote.step == PRECOMMIT and vote.height == height and not signed:
            signed.append(vote)
            return True
        return False

    sim.crash_after_signing = crash_once
    victim = sim.nodes[victim_index]
    require_progress(sim, lambda s: bool(signed), 10_000, f"v{victim_index} signing a precommit at height {height}")
    assert not victim.up
    precommit = signed[0]
    last = victim.store.load().last
    assert last is not None
    assert (last.height, last.round, last.step, last.block_hash) == (
        height, precommit.round, PRECOMMIT, precommit.block_hash or b"",
    ), "the precommit is persisted"
    assert sim.captured is not None and VoteMessage(precommit) not in sim.captured, "... and was never sent"
    return precommit


def test_crash_right_after_signing_a_precommit_never_double_signs_and_the_chain_goes_on() -> None:
    sim = Simulation(seed=2, validators=4, network=CALM_NETWORK, capture=True)
    sim.start()
    victim = sim.nodes[2]
    precommit = run_crash_after_signing_precommit(sim, victim.index, height=2)
    sim.restart(victim.index)  # at once: it resumes inside height 2, in the round it signed in, past its precommit
    lock = None if precommit.block_hash is None else (precommit.round, precommit.block_hash)
    assert victim.committed_height == 1 and victim.resumes == {2: Resume(2, precommit.round, Step.PRECOMMIT, lock)}
    assert victim.core is not None and victim.core.locked_value == precommit.block_hash
    assert VoteMessage(precommit) in sim.captured, "the persisted precommit is sent after the restart"
    require_progress(sim, lambda s: s.min_honest_height() >= 6, 30_000, "the chain after the restart")
    no_violations(sim)  # includes: no honest validator signed two different things at one position
    same_chains(sim)
    assert sim.signed_by(victim.index, 2, precommit.round, PRECOMMIT) == precommit.block_hash


def test_crash_after_signing_a_precommit_with_one_silent_validator_the_chain_goes_on() -> None:
    """The reduction of random seeds 31, 119, 159, 191 and 279 with 4 validators (and 31 with 7), which
    halted before the restart-skips-round fix. The proposer of height 1 round 0 is silent (Byzantine). The
    three others time out, prevote nil, see three nil prevotes and precommit nil (L44); one of them crashes
    right after its guard persisted that precommit. The two left hold two precommits of round 0 and wait for
    a third before the precommit timeout starts (L47). The crashed one used to restart in round 1
    (last.round + 1), so its round-0 precommit never came, and alone in round 1 it could not pull the others
    there (L55 needs f+1): nothing ever fired again. Now it resumes in round 0 past its precommit and sends
    that precommit again, the others' L47 timeout starts, and round 1 decides."""
    silent, _, _, crashing = height_one_proposers(4)
    sim = Simulation(seed=2, validators=4, byzantine={silent: "silent"}, network=CALM_NETWORK, capture=True)
    sim.start()
    victim = sim.nodes[crashing]
    precommit = run_crash_after_signing_precommit(sim, victim.index, height=1)
    assert (precommit.round, precommit.block_hash) == (0, None)
    sim.run_for(500)
    others = [node for node in sim.honest_nodes if node is not victim]
    assert all(node.core is not None and node.core.round == 0 for node in others), "the others wait in round 0"
    sim.restart(victim.index)
    assert victim.resumes == {1: Resume(1, 0, Step.PRECOMMIT, None)}
    assert victim.core is not None and (victim.core.round, victim.core.step_) == (0, Step.PRECOMMIT)
    assert VoteMessage(precommit) in sim.captured, "the persisted nil precommit is sent after the restart"
    require_progress(sim, lambda s: s.min_honest_height() >= 1, 30_000, "height 1 after the restart")
    assert all(node.commit_rounds[1] >= 1 for node in sim.honest_nodes)
    require_progress(sim, lambda s: s.min_honest_height() >= 3, 30_000, "the heights after")
    no_violations(sim)
    same_chains(sim)


@pytest.mark.parametrize("validators", [4, 7])
def test_equivocating_proposer_cannot_split_the_chain(validators: int) -> None:
    byzantine = {index: "equivocator" for index in range(fault_tolerance(validators))}
    sim = Simulation(seed=3, validators=validators, byzantine=byzantine, network=NetworkFaults(5, 60))
    sim.start()
    require_progress(sim, lambda s: s.min_honest_height() >= 10, 60_000, "ten heights")
    split = [position for position, hashes in sim.proposals_seen.items() if len(hashes) > 1]
    assert split, "honest nodes never received two different proposals for one (height, round)"
    no_violations(sim)
    same_chains(sim)


def test_double_voter_produces_verified_evidence_at_honest_nodes() -> None:
    sim = Simulation(seed=4, validators=4, byzantine={3: "double-voter"}, network=CALM_NETWORK)
    sim.start()
    require_progress(sim, lambda s: all(node.evidence for node in s.honest_nodes), 20_000, "evidence at every honest node")
    double_voter = sim.nodes[3].public_key
    for node in sim.honest_nodes:
        for evidence in node.evidence.values():
            evidence.verify(CHAIN_ID, sim.validators)  # raises EvidenceError if it proves nothing
            assert evidence.first.validator == evidence.second.validator == double_voter
            assert evidence.first.block_hash != evidence.second.block_hash
            assert Equivocation.from_bytes(evidence.to_bytes()) == evidence
    no_violations(sim)
    same_chains(sim)


def test_partition_two_two_halts_then_heals_and_commits() -> None:
    sim = Simulation(seed=5, validators=4, network=CALM_NETWORK)
    sim.start_partition(((0, 1), (2, 3)))
    sim.start()
    sim.run_for(5_000)
    assert [node.committed_height for node in sim.nodes] == [0, 0, 0, 0], "no side has a quorum"
    assert all(node.core is not None and node.core.round == 0 for node in sim.nodes), "no quorum, no timeout"
    sim.heal()
    assert sim.run_liveness(heights=3, duration_ms_max=20_000), sim.report()
    no_violations(sim)
    same_chains(sim)


def test_a_block_that_fails_validation_is_never_decided() -> None:
    """Every block v2 builds fails the other nodes' validation (ProposalReceived(valid=False)); the chain
    skips them in round 1 and never commits one."""
    sim = Simulation(seed=10, validators=4, network=CALM_NETWORK)
    bad_builder = 2
    sim.block_is_valid = lambda payload: codec.decode(payload, 1024)[4] != bad_builder
    sim.start()
    require_progress(sim, lambda s: s.min_honest_height() >= 8, 30_000, "eight heights")
    no_violations(sim)  # includes: no honest node commits a block that fails validation
    node = sim.nodes[0]
    for height in range(1, 9):
        round_number, builder = block_origin(node, height)
        assert builder != bad_builder
        if proposer_index(sim, height, 0) == bad_builder:
            assert node.commit_rounds[height] >= 1, f"height {height}: v2's round-0 block was not skipped"


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_a_locked_block_is_not_replaced_in_round_1(seed: int) -> None:
    scenario = build_lock_scenario(seed)
    sim = scenario.sim
    sim.start()
    sim.run_for(3_000)
    block_a = scenario.block_a()
    decider = sim.nodes[scenario.decider]
    # The situation happened: A decided in round 0 by one node, and another locked on A.
    assert decider.committed_height >= 1 and decider.chain[1].block_hash == block_a
    assert decider.commit_rounds[1] == 0
    assert sim.signed_by(scenario.holder, 1, 0, PRECOMMIT) == block_a, "the holder locked on A"
    assert sim.first_proposal(1, 1) not in (None, block_a), "round 1 offered another block"
    # The property: the lock held, so nothing but A is decided at height 1.
    assert sim.signed_by(scenario.holder, 1, 1, PREVOTE) is None, "the locked holder prevotes nil in round 1"
    no_violations(sim)
    sim.heal()
    assert sim.run_liveness(duration_ms_max=20_000), sim.report()
    assert {node.chain[1].block_hash for node in sim.honest_nodes} == {block_a}
    no_violations(sim)


def test_a_double_vote_cannot_hide_a_polka_forever() -> None:
    """The reduction of random seeds 21, 29, 61 and 69 with 4 validators (one double voter), which halted
    before the uncounted-equivocation fix. Round 0: the Byzantine prevotes A to the locker only and nil to
    the others; the locker locks A (L36), the others precommit nil. The locker's gossip later brings them the
    Byzantine's A prevote. It used to become evidence only, never counted for A: the locker re-proposed A
    with valid round 0, the others refused it (L28 found no 2f+1 prevotes for A in round 0), and the locker
    prevoted nil on every other block (L22). Now the second vote counts for A too, L28 accepts the locker's
    re-proposal, and A is decided."""
    sim, roles = build_uncounted_equivocation_scenario(seed=9)
    sim.start()

    def both_prevotes_seen(sim: Simulation) -> bool:
        return all(
            any(key[1:] == (1, 0, PREVOTE) for key in sim.nodes[roles[name]].evidence) for name in ("proposer", "unaware")
        )

    assert sim.run_until(both_prevotes_seen, 5_000), "the others received both of the Byzantine's prevotes"
    block_a = sim.first_proposal(1, 0)
    assert sim.signed_by(roles["locker"], 1, 0, PRECOMMIT) == block_a, "the locker locked on A"
    for name in ("proposer", "unaware"):
        first = sim.nodes[roles[name]].core.votes_for(0, PREVOTE)[sim.nodes[roles["byzantine"]].public_key]
        assert first.block_hash is None, f"the {name} saw the Byzantine's nil prevote first"
    require_progress(sim, lambda s: s.min_honest_height() >= 1, 30_000, "height 1")
    assert {node.chain[1].block_hash for node in sim.honest_nodes} == {block_a}
    assert all(node.commit_rounds[1] >= 1 for node in sim.honest_nodes), "A is decided in a later round"
    no_violations(sim)


def test_a_restarted_locked_proposer_re_proposes_its_locked_block() -> None:
    """The reduction of restart-forgets-valid-value. Round 0: the locker alone locks on A (the Byzantine's A
    prevote went to it alone); the others see that polka only later, past round 0, so A never becomes their
    valid value (L36 is for the current round). The locker crashes and restarts with its lock (round 0, A).
    It used to restart without its valid value, so when its turn came it proposed a fresh block and
    prevoted nil on it (L22); the Byzantine votes nil and proposes nothing, so no block ever got 2f+1
    prevotes again. Now its valid value comes back with the lock (validRound >= lockedRound), it proposes A
    with valid round 0 (L15-L16), which the others accept (L28: they hold 2f+1 prevotes for A in round 0)."""
    sim, roles = build_forgotten_valid_value_scenario(seed=11)
    locker = sim.nodes[roles["locker"]]
    sim.start()

    def others_hold_the_polka(sim: Simulation) -> bool:
        byzantine_key = sim.nodes[roles["byzantine"]].public_key
        return all(
            (core := sim.nodes[roles[name]].core) is not None
            and core.round >= 1
            and byzantine_key in core.votes_for(0, PREVOTE)
            for name in ("proposer", "unaware")
        )

    assert sim.run_until(others_hold_the_polka, 3_000), "the others got the Byzantine's A prevote after round 0"
    block_a = sim.first_proposal(1, 0)
    assert sim.signed_by(locker.index, 1, 0, PRECOMMIT) == block_a, "the locker locked on A"
    for name in ("proposer", "unaware"):
        core = sim.nodes[roles[name]].core
        assert core is not None and core.valid_value != block_a, f"A is not the {name}'s valid value"
    assert locker.core is not None and locker.core.round < 2 and sim.min_honest_height() == 0
    sim.crash(locker.index)
    sim.run_for(300)
    sim.restart(locker.index)
    core = locker.core
    assert core is not None and (core.locked_round, core.locked_value) == (0, block_a)
    assert (core.valid_round, core.valid_value) == (0, block_a), "the valid value comes back with the lock"
    require_progress(sim, lambda s: s.min_honest_height() >= 1, 30_000, "height 1 after the locker's restart")
    assert {node.chain[1].block_hash for node in sim.honest_nodes} == {block_a}
    decided_in = locker.commit_rounds[1]
    assert proposer_index(sim, 1, decided_in) == locker.index, "A is decided in a round the locker proposed"
    no_violations(sim)


def run_lost_earlier_round_vote(seed: int = 12) -> tuple[Simulation, dict[str, int]]:
    """Height 1 of four validators: `silent` (Byzantine, silent) proposes round 0, `ahead` round 1. Round 0:
    no proposal, so the three honest validators prevote nil and precommit nil (L44). Every copy of `ahead`'s
    nil precommit is lost on the way to `waiting_a` and `waiting_b` (a message rule, lifted when `ahead`
    crashes), while `ahead` gets theirs: it holds 2f+1 precommits of round 0, times out (L47, L65) and
    proposes and prevotes in round 1. The two others hold two precommits of round 0 and wait for a third
    (L47). Then `ahead` crashes, the network heals, and `ahead` restarts."""
    silent, ahead, waiting_a, waiting_b = height_one_proposers(4)
    sim = Simulation(seed, 4, byzantine={silent: "silent"}, network=CALM_NETWORK)
    ahead_node = sim.nodes[ahead]

    def rule(sim: Simulation, src: int, dst: int, message: object) -> object:
        if (
            isinstance(message, VoteMessage)
            and message.vote.validator == ahead_node.public_key
            and (message.vote.height, message.vote.round, message.vote.step) == (1, 0, PRECOMMIT)
            and ahead_node.up
        ):
            return DROP
        return None

    sim.message_rule = rule
    sim.start()
    return sim, {"silent": silent, "ahead": ahead, "waiting_a": waiting_a, "waiting_b": waiting_b}


def test_a_restart_does_not_lose_a_vote_of_an_earlier_round() -> None:
    """The reduction of random seed 4567 with 4 validators (mix chaos: v3 silent, drop 0.3; v1 precommits
    nil in round 0, that precommit is lost, v1 goes on to round 1, is partitioned alone and crashes there;
    v0 and v2 stay in round 0 with two precommits), and of seed 2431 with the validator order from before
    commit b5bcfe7 (the same with v2). The scenario states what should happen: once the network heals, the
    restarted validator's round-0 precommit reaches the others (it signed it, so it can send it again) and
    height 1 is decided (it stalled, LivenessStalled, while the safety state kept only round 1's messages)."""
    sim, roles = run_lost_earlier_round_vote()
    ahead = sim.nodes[roles["ahead"]]
    waiting = [sim.nodes[roles["waiting_a"]], sim.nodes[roles["waiting_b"]]]
    assert sim.run_until(lambda s: s.signed_by(ahead.index, 1, 1, PREVOTE) != "nothing", 5_000), sim.report()
    # The situation: `ahead` signed its nil precommit of round 0 and went on to round 1; the others never
    # received that precommit and wait in round 0 with two precommits.
    assert sim.signed_by(ahead.index, 1, 0, PRECOMMIT) is None
    assert ahead.core is not None and ahead.core.round == 1
    for node in waiting:
        assert node.core is not None and (node.core.round, node.core.step_) == (0, Step.PRECOMMIT)
        precommits = node.core.votes_for(0, PRECOMMIT)
        assert len(precommits) == 2 and ahead.public_key not in precommits
    sim.crash(ahead.index)
    sim.run_for(300)
    sim.heal()  # every message is delivered from now on; `ahead` restarts
    assert ahead.resumes[1].round == 1, "it resumes in round 1, with the messages it signed there only"
    require_progress(sim, lambda s: s.min_honest_height() >= 1, 30_000, "height 1 after the restart of the node ahead")
    no_violations(sim)
