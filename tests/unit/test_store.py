"""The LevelDB store: blocks survive a restart, the database is tied to its genesis, and the incrementally
maintained state root always equals the root recomputed from every state entry."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import plyvel
import pytest

from corridor.ledger.genesis import Genesis, parse_genesis
from corridor.ledger.state import State, balance_key
from corridor.ledger import state_root
from corridor.ledger.state_root import StateHash
from corridor.ledger import store as store_module
from corridor.ledger.state import STATE_PREFIXES
from corridor.ledger.store import Store, StoreError, StoreWriteError
from corridor.ledger.tx import SignedTx

from unit_support import (
    ACCOUNT_NAMES,
    ADDRESSES,
    AUDITORS,
    GENESIS_TIME_MS,
    ISSUERS,
    attest,
    burn,
    certificate_for,
    commit,
    genesis_document,
    mint,
    produce,
    recompute_state_hash,
    transfer,
)


def test_new_store_starts_at_genesis(store: Store, genesis: Genesis) -> None:
    assert (store.tip.height, store.tip.block_hash, store.tip.time_ms) == (0, genesis.hash, GENESIS_TIME_MS)
    assert store.tip.state_hash.root() == recompute_state_hash(store).root()
    state = State(store)
    assert state.get_balance(ADDRESSES["alice"], "USD") == 500_000
    usd = state.get_currency("USD")
    assert usd is not None and usd.supply_minor == 700_000 and usd.decimals == 2
    jpy = state.get_currency("JPY")
    assert jpy is not None and jpy.supply_minor == 1_030_000 and jpy.decimals == 0


def test_reopened_store_has_the_same_tip_state_and_blocks(tmp_path: Path, genesis: Genesis) -> None:
    path = tmp_path / "db"
    store = Store(path, genesis)
    executed_1, _ = commit(store, [transfer("alice", 0, "bob", "USD", 10), mint("usd_issuer", 0, "dave", "USD", 99)])
    executed_2, _ = commit(store, [burn("bob", 0, "USD", 5)])
    tip = store.tip
    store.close()

    reopened = Store(path, genesis)
    try:
        assert (reopened.tip.height, reopened.tip.block_hash, reopened.tip.time_ms) == (2, tip.block_hash, tip.time_ms)
        assert reopened.tip.state_hash.to_bytes() == tip.state_hash.to_bytes()
        assert reopened.get_block(1) == executed_1.block and reopened.get_block(2) == executed_2.block
        assert reopened.get_block_bytes(2) == executed_2.block.to_bytes()
        assert reopened.get_block(3) is None
        assert reopened.get_receipts(1) == list(executed_1.receipts)
        assert reopened.get_certificate(2) == certificate_for(executed_2)
        for index, tx in enumerate(executed_1.block.txs):
            assert reopened.find_tx(tx.hash) == (1, index)
        assert reopened.find_tx(bytes(32)) is None
        assert State(reopened).get_balance(ADDRESSES["dave"], "USD") == 99
        assert State(reopened).get_nonce(ADDRESSES["alice"]) == 1
        # The chain continues from the reopened tip.
        executed_3, _ = commit(reopened, [transfer("alice", 1, "carol", "USD", 1)])
        assert executed_3.block.header.parent_hash == tip.block_hash
    finally:
        reopened.close()


def test_store_made_from_another_genesis_is_refused(tmp_path: Path, genesis: Genesis) -> None:
    path = tmp_path / "db"
    Store(path, genesis).close()
    other = genesis_document()
    other["chain_id"] = "corridor-other"
    with pytest.raises(StoreError, match="another genesis"):
        Store(path, parse_genesis(other))
    # The refusal released the database and left it as it was.
    reopened = Store(path, genesis)
    assert reopened.tip.block_hash == genesis.hash
    reopened.close()


def test_store_with_a_changed_balance_in_genesis_is_refused(tmp_path: Path, genesis: Genesis) -> None:
    Store(tmp_path / "db", genesis).close()
    other = genesis_document()
    other["balances"][0]["amount_minor"] += 1
    with pytest.raises(StoreError):
        Store(tmp_path / "db", parse_genesis(other))


def test_database_in_use_by_another_store_is_refused(store: Store, tmp_path: Path, genesis: Genesis) -> None:
    with pytest.raises(StoreError, match="another node"):
        Store(tmp_path / "db", genesis)


def test_balance_spent_to_zero_is_deleted_from_the_store(store: Store) -> None:
    commit(store, [transfer("carol", 0, "alice", "JPY", 30_000)])
    assert store.get(balance_key(ADDRESSES["carol"], "JPY")) is None
    assert State(store).get_balance(ADDRESSES["carol"], "JPY") == 0
    assert store.tip.state_hash.root() == recompute_state_hash(store).root()


def _random_txs(rng: random.Random, store: Store, nonces: dict[str, int], count: int) -> list[SignedTx]:
    """A mix of transactions, some of which will be refused and left out of the block."""
    state = State(store)
    txs = []
    for _ in range(count):
        sender = rng.choice(ACCOUNT_NAMES)
        code = rng.choice(("USD", "JPY"))
        kind = rng.random()
        nonce = nonces[sender]
        if kind < 0.55:
            recipient = rng.choice(ACCOUNT_NAMES)
            balance = state.get_balance(ADDRESSES[sender], code)
            amount = rng.choice([1, max(1, balance // 3), max(1, balance), balance + 1])
            tx = transfer(sender, nonce, recipient, code, amount)
        elif kind < 0.75:
            issuer = ISSUERS[code] if rng.random() < 0.8 else sender
            tx = mint(issuer, nonces[issuer], rng.choice(ACCOUNT_NAMES), code, rng.randint(1, 50_000))
            sender = issuer
        elif kind < 0.9:
            balance = state.get_balance(ADDRESSES[sender], code)
            tx = burn(sender, nonce, code, rng.choice([1, max(1, balance), balance + 1]))
        else:
            auditor = AUDITORS[code]
            tx = attest(auditor, nonces[auditor], code, rng.randint(0, 20_000_000))
            sender = auditor
        txs.append(tx)
        nonces[sender] += 1  # optimistic: a refused tx leaves a gap, so later ones of this sender are refused too
    return txs


def test_incremental_state_root_equals_the_root_recomputed_from_all_entries(store: Store) -> None:
    rng = random.Random(20_240_601)
    nonces = {name: 0 for name in ACCOUNT_NAMES}
    committed = 0
    for _ in range(40):
        executed, left_out = commit(store, _random_txs(rng, store, nonces, 6))
        committed += len(executed.block.txs)
        # Resynchronise the optimistic nonces with the chain after each block.
        nonces = {name: State(store).get_nonce(ADDRESSES[name]) for name in ACCOUNT_NAMES}
        recomputed = recompute_state_hash(store)
        assert store.tip.state_hash.to_bytes() == recomputed.to_bytes()
        assert executed.block.header.state_root == recomputed.root()
    assert store.tip.height == 40 and committed > 60


def test_state_hash_is_order_independent_and_remove_undoes_add() -> None:
    entries = [(b"a/" + bytes([i]) * 20, bytes([i])) for i in range(10)]
    forwards, backwards = StateHash(), StateHash()
    for key, value in entries:
        forwards.add(key, value)
    for key, value in reversed(entries):
        backwards.add(key, value)
    assert forwards.to_bytes() == backwards.to_bytes() and forwards.root() == backwards.root()
    for key, value in entries[5:]:
        forwards.remove(key, value)
    expected = StateHash()
    for key, value in entries[:5]:
        expected.add(key, value)
    assert forwards.to_bytes() == expected.to_bytes()
    forwards.update(entries[0][0], entries[0][1], b"new")
    assert forwards.to_bytes() != expected.to_bytes()
    assert StateHash(forwards.to_bytes()).root() == forwards.root()


def test_state_hash_stays_exact_across_lane_normalisation() -> None:
    # The lanes are normalised every 60,000 additions; adding and removing the same entry that many times
    # must leave exactly the hash of the other entries.
    base = StateHash()
    base.add(b"c/USD", b"record")
    churned = base.copy()
    for _ in range(30_001):
        churned.add(b"a/churn", b"\x01")
        churned.remove(b"a/churn", b"\x01")
    assert churned.to_bytes() == base.to_bytes()


def test_state_hash_does_not_depend_on_which_vectors_are_remembered() -> None:
    # Recent entries' vectors are remembered (at most ENTRY_VECTORS_CACHED of them): two candidate blocks
    # of one height remove the same entries, and a key may change again long after its vector was
    # forgotten. None of it may change a hash.
    rng = random.Random(11)
    live = {b"b/" + bytes([i]) * 20: bytes([i]) for i in range(64)}
    state_hash = StateHash()
    for key, value in live.items():
        state_hash.add(key, value)
    for round_index in range(3 * state_root.ENTRY_VECTORS_CACHED // 64):
        candidate = state_hash.copy()  # a second block of the same height, changing the same keys
        for key in rng.sample(sorted(live), 8):
            candidate.update(key, live[key], b"candidate")
        for key in rng.sample(sorted(live), 32):
            new = rng.randbytes(4)
            state_hash.update(key, live[key], new)
            live[key] = new
    expected_even = expected_odd = 0
    for key, value in live.items():
        even, odd = state_root.entry_vector(key, value)
        expected_even, expected_odd = expected_even + even, expected_odd + odd
    mask = state_root._LOW_16_OF_EVERY_OTHER_LANE
    assert state_hash.to_bytes() == ((expected_even & mask) | ((expected_odd & mask) << 16)).to_bytes(2 * state_root.LANES, "little")


class _Crash(Exception):
    pass


class _BatchThatDiesOnWrite:
    def __enter__(self) -> "_BatchThatDiesOnWrite":
        return self

    def __exit__(self, *_: object) -> None:
        raise _Crash

    def put(self, key: bytes, value: bytes) -> None:
        pass

    def delete(self, key: bytes) -> None:
        pass


class _StateDatabaseThatDiesOnWrite:
    """Stands in for the state database: the process dies as the block's state batch is written."""

    def __init__(self, database: object) -> None:
        self._database = database

    def write_batch(self, **_: object) -> _BatchThatDiesOnWrite:
        return _BatchThatDiesOnWrite()

    def __getattr__(self, name: str) -> object:
        return getattr(self._database, name)


def test_block_whose_state_was_not_written_is_not_committed_after_a_restart(tmp_path: Path, genesis: Genesis) -> None:
    path = tmp_path / "db"
    store = Store(path, genesis)
    commit(store, [transfer("alice", 0, "bob", "USD", 10)])
    bob_before = State(store).get_balance(ADDRESSES["bob"], "USD")
    payment = transfer("alice", 1, "bob", "USD", 20)
    executed, _ = produce(store, [payment])
    state_database = store._db
    store._db = _StateDatabaseThatDiesOnWrite(state_database)  # type: ignore[assignment]
    with pytest.raises(_Crash):
        store.commit_block(executed, certificate_for(executed))
    store._db = state_database
    history_key = store_module._history_key(2, store_module._BLOCK)
    assert store._history.get(history_key) == executed.block.to_bytes(), "the history is written first"
    assert store.get_block(2) is None and store.get_certificate(2) is None, "history above the tip is not served"
    assert State(store).get_balance(ADDRESSES["bob"], "USD") == bob_before, "reads show only what was written"
    store.close()

    reopened = Store(path, genesis)
    try:
        assert reopened.tip.height == 1
        assert reopened.get_block(2) is None and reopened.get_block_bytes(2) is None
        assert reopened.get_certificate(2) is None and reopened.get_receipts(2) == []
        assert reopened.get_supply_leaves(2) is None
        assert reopened.find_tx(payment.hash) is None
        assert State(reopened).get_balance(ADDRESSES["bob"], "USD") == bob_before
        # The same block commits again, whole.
        reopened.commit_block(executed, certificate_for(executed))
        assert reopened.tip.height == 2 and reopened.get_block(2) == executed.block
        assert reopened.find_tx(payment.hash) == (2, 0)
        assert State(reopened).get_balance(ADDRESSES["bob"], "USD") == bob_before + 20
        assert reopened.tip.state_hash.root() == recompute_state_hash(reopened).root()
    finally:
        reopened.close()


def test_database_of_the_earlier_single_database_layout_is_refused(tmp_path: Path, genesis: Genesis) -> None:
    path = tmp_path / "db"
    plyvel.DB(str(path), create_if_missing=True).close()
    with pytest.raises(StoreError, match="earlier Corridor"):
        Store(path, genesis)


def test_reads_match_the_database_while_the_entry_cache_overflows(
    tmp_path: Path, genesis: Genesis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "STATE_ENTRIES_CACHED", 8)
    store = Store(tmp_path / "db", genesis)
    try:
        rng = random.Random(7)
        nonces = {name: 0 for name in ACCOUNT_NAMES}
        for block_index in range(15):
            executed, _ = commit(store, _random_txs(rng, store, nonces, 6))
            # First what the block wrote, before any other read refills the cache.
            for key, _ in executed.changes:
                assert store.get(key) == store._db.get(key)
            nonces = {name: State(store).get_nonce(ADDRESSES[name]) for name in ACCOUNT_NAMES}
            keys = [key for prefix in STATE_PREFIXES for key, _ in store.iterate(prefix)]
            keys += [balance_key(ADDRESSES[name], code) for name in ACCOUNT_NAMES for code in ("USD", "JPY")]
            for key in rng.sample(keys, len(keys)):
                assert store.get(key) == store._db.get(key)
            assert len(store._cached) <= 8
    finally:
        store.close()


def test_a_commit_updates_entries_cached_up_to_the_limit(
    tmp_path: Path, genesis: Genesis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "db", genesis)
    try:
        payment = transfer("alice", 0, "bob", "USD", 10)
        executed, _ = produce(store, [payment])
        changed = [key for key, _ in executed.changes]
        for key in changed:
            store.get(key)
        monkeypatch.setattr(store_module, "STATE_ENTRIES_CACHED", len(store._cached) + len(changed) + 1)
        store.commit_block(executed, certificate_for(executed))
        for key in changed:
            assert store.get(key) == store._db.get(key)
    finally:
        store.close()


def test_an_earlier_build_cannot_open_the_data_folder(tmp_path: Path, genesis: Genesis) -> None:
    # Builds before the split opened one LevelDB database in this folder; finding none, they would start an
    # empty chain without this validator's safety record. The layout marker makes their open fail instead.
    path = tmp_path / "db"
    Store(path, genesis).close()
    with pytest.raises(plyvel.Error):
        plyvel.DB(str(path), create_if_missing=True)
    Store(path, genesis).close()


def test_state_without_its_block_history_is_refused(tmp_path: Path, genesis: Genesis) -> None:
    path = tmp_path / "db"
    store = Store(path, genesis)
    commit(store, [transfer("alice", 0, "bob", "USD", 10)])
    store.close()
    shutil.rmtree(path / store_module.BLOCKS_DB_DIR)
    with pytest.raises(StoreError, match="does not hold the state's last block"):
        Store(path, genesis)


def test_block_history_without_its_state_is_refused_not_deleted(tmp_path: Path, genesis: Genesis) -> None:
    path = tmp_path / "db"
    store = Store(path, genesis)
    executed, _ = commit(store, [transfer("alice", 0, "bob", "USD", 10)])
    store.close()
    shutil.rmtree(path / store_module.STATE_DB_DIR)
    with pytest.raises(StoreError, match="block history but no state"):
        Store(path, genesis)
    history = plyvel.DB(str(path / store_module.BLOCKS_DB_DIR))
    try:
        assert history.get(store_module._history_key(1, store_module._BLOCK)) == executed.block.to_bytes()
    finally:
        history.close()


class _BatchThatFailsOnWrite(_BatchThatDiesOnWrite):
    def __exit__(self, *_: object) -> None:
        raise plyvel.IOError("IO error: No space left on device")


class _StateDatabaseWithAFullDisk(_StateDatabaseThatDiesOnWrite):
    def write_batch(self, **_: object) -> _BatchThatFailsOnWrite:
        return _BatchThatFailsOnWrite()


def test_a_refused_write_is_a_store_write_error_and_changes_nothing(store: Store) -> None:
    executed, _ = produce(store, [transfer("alice", 0, "bob", "USD", 10)])
    state_database = store._db
    store._db = _StateDatabaseWithAFullDisk(state_database)  # type: ignore[assignment]
    try:
        with pytest.raises(StoreWriteError, match="writing block 1 failed: IO error: No space left"):
            store.commit_block(executed, certificate_for(executed))
        with pytest.raises(StoreWriteError, match="No space left"):
            store.put_meta_durably({"safety": b"record"})
    finally:
        store._db = state_database
    assert store.tip.height == 0 and store.get_block(1) is None
