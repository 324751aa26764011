"""Random schedules: for every seed, a fault phase (drops, delays and reordering, duplicates, partitions,
crash-restarts, up to f Byzantine validators), then a heal, then liveness. Safety is checked on every seed.

    .venv/bin/python -m pytest tests/sim -q                          # the default run: 400 + 300 seeds
    CORRIDOR_SEEDS=17,42 .venv/bin/python -m pytest tests/sim/test_random_schedules.py -q     # replay seeds
    CORRIDOR_SIM_SEEDS=5000 .venv/bin/python -m pytest tests/sim/test_random_schedules.py -q  # 5000 per size
    CORRIDOR_SIM_SEED_START=100000 moves the long run's window of seeds.

Every seed must be safe and live: nothing is excused.

Each seed picks its fault mix (`simulation.mix_for`) and draws everything else from its own
random.Random(seed), so a seed replays the same run, in any process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulation import mix_for, run_random_schedule

SEEDS_DEFAULT_BY_VALIDATORS = {4: 400, 7: 300}  # 700 seeds in the default run


def seeds_for(validators: int) -> list[int]:
    replay = os.environ.get("CORRIDOR_SEEDS", "")
    if replay.strip():
        return [int(seed) for seed in replay.split(",") if seed.strip()]
    count = int(os.environ.get("CORRIDOR_SIM_SEEDS", SEEDS_DEFAULT_BY_VALIDATORS[validators]))
    start = int(os.environ.get("CORRIDOR_SIM_SEED_START", "0"))
    return list(range(start, start + count))


def replay_command(seed: int, validators: int) -> str:
    return (
        f"CORRIDOR_SEEDS={seed} .venv/bin/python -m pytest tests/sim/test_random_schedules.py -q "
        f"-k '{validators}_validators'"
    )


def check_schedule(seed: int, validators: int) -> None:
    run = run_random_schedule(seed, validators)
    sim = run.sim
    description = run.describe(replay_command(seed, validators))
    assert sim.violations == [], "SAFETY violated:\n  " + "\n  ".join(sim.violations) + "\n" + description
    refusals = [text for node in sim.honest_nodes for text in node.double_sign_refusals]
    assert refusals == [], f"the core asked an honest guard for a conflicting signature: {refusals}\n{description}"
    assert run.live, (
        f"LIVENESS: honest nodes did not all reach height {sim.height_at_heal}+3 within "
        f"{sim.now_ms - (sim.healed_at_ms or 0)}ms after the heal\n{description}"
    )


@pytest.mark.parametrize("seed", seeds_for(4), ids=lambda seed: f"seed{seed}-{mix_for(seed)}")
def test_random_schedule_4_validators(seed: int) -> None:
    check_schedule(seed, 4)


@pytest.mark.parametrize("seed", seeds_for(7), ids=lambda seed: f"seed{seed}-{mix_for(seed)}")
def test_random_schedule_7_validators(seed: int) -> None:
    check_schedule(seed, 7)


def test_a_seed_replays_the_same_run() -> None:
    first = run_random_schedule(6, 4)  # "chaos": every kind of fault
    second = run_random_schedule(6, 4)
    assert first.sim.digest() == second.sim.digest()
    assert first.sim.events_processed == second.sim.events_processed
    assert run_random_schedule(7, 4).sim.digest() != first.sim.digest()


def test_runs_do_not_depend_on_the_hash_seed() -> None:
    """No set or dict order keyed by bytes/str hashes leaks into a run: other PYTHONHASHSEEDs, same digest."""
    script = "from simulation import run_random_schedule; print(run_random_schedule(13, 7).sim.digest())"
    digests = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=Path(__file__).parent, env=env, capture_output=True, text=True, check=True
        )
        digests.add(result.stdout.strip())
    digests.add(run_random_schedule(13, 7).sim.digest())
    assert len(digests) == 1, digests
