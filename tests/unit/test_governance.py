"""Consortium governance: validator-signed transactions, the governance nonce, the three governance rules,
the validator set kept in state (scheduled changes applied exactly at their height, headers committing to
the set that signs them), and an offline verifier following that set from genesis.

Most tests run on a genesis variant with four validators of power 10 (quorum: more than 26.67, so three
signatures); a few use other sets where the arithmetic needs it (exactly two thirds, a single validator).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corridor import codec
from corridor.client.verify import VerificationError, follow_validator_set, verify_block_bundle
from corridor.consensus.certificate import CommitCertificate, sign_precommit, verify_certificate
from corridor.consensus.validators import Validator, ValidatorSet
from corridor.keys import KeyPair, address_of
from corridor.ledger import governance, limits
from corridor.ledger.block import ExecutedBlock, build_block
from corridor.ledger.genesis import Genesis, GenesisError, parse_genesis
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import apply_tx, expected_nonce
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import (
    SignedTx,
    TxError,
    assemble_tx,
    build_body,
    decode_tx,
    is_governance,
    signing_bytes,
)

from unit_support import (
    ADDRESSES,
    CHAIN_ID,
    KEYS,
    OTHER_CHAIN_ID,
    attest,
    context,
    genesis_document,
    genesis_reader,
    key_of,
    mint,
    transfer,
    tx_document,
)

# The governance genesis ---------------------------------------------------------------------------------

VALIDATOR_NAMES = ("v0", "v1", "v2", "v3")
OUTSIDER_NAMES = ("x0", "x1", "x2")
NEWCOMER = "v4"  # not in the genesis set; added by some tests
VKEYS: dict[str, KeyPair] = {name: key_of(f"gov-{name}") for name in (*VALIDATOR_NAMES, NEWCOMER, *OUTSIDER_NAMES)}


def governance_genesis(powers: dict[str, int] | None = None) -> Genesis:
    """The unit genesis (USD, JPY, funded accounts) with its validator set replaced: by default v0..v3 of power 10."""
    powers = powers or {name: 10 for name in VALIDATOR_NAMES}
    document = genesis_document()
    document["validators"] = [{"name": name, "public_key": VKEYS[name].public_key.hex(), "power": power}
                              for name, power in powers.items()]
    return parse_genesis(document)


def entries_of(powers: dict[str, int]) -> list[tuple[bytes, str, int]]:
    return sorted((VKEYS[name].public_key, name, power) for name, power in powers.items())


def blob(name: str, body: Any, chain_id: str = CHAIN_ID) -> bytes:
    """A validator's public key || signature over `body` (what a governance transaction carries)."""
    key = VKEYS[name]
    return key.public_key + key.sign(signing_bytes(chain_id, body))


def gov_body(type_name: str, fields: dict[str, Any], nonce: int = 0, proposer: str = "v0") -> Any:
    return build_body(type_name, {"signer": VKEYS[proposer].public_key, "nonce": nonce, **fields})


def gov_tx(type_name: str, fields: dict[str, Any], signers: tuple[str, ...] = ("v0", "v1", "v2"), nonce: int = 0,
           chain_id: str = CHAIN_ID) -> SignedTx:
    body = gov_body(type_name, fields, nonce)
    return assemble_tx(body, [blob(name, body, chain_id) for name in signers])


def register(code: str = "KRW", issuer: str = "dave", decimals: int = 0, allow_list: bool = False, auditor: str = "jpy_auditor",
             **kw: Any) -> SignedTx:
    return gov_tx("gov_register_currency", {"currency": code, "decimals": decimals, "issuer": ADDRESSES[issuer],
                                            "holders_need_authorization": allow_list, "auditor": ADDRESSES[auditor]}, **kw)


def set_issuer(code: str, issuer: str, **kw: Any) -> SignedTx:
    return gov_tx("gov_set_issuer", {"currency": code, "issuer": ADDRESSES[issuer]}, **kw)


def set_validator(name: str, power: int, effective_height: int, **kw: Any) -> SignedTx:
    return gov_tx("gov_set_validator", {"validator_key": VKEYS[name].public_key, "validator_name": name, "power": power,
                                        "effective_height": effective_height}, **kw)


def raw_with_signatures(tx: SignedTx, signatures: list[bytes]) -> bytes:
    return codec.encode({**tx_document(tx), "signatures": signatures})


@pytest.fixture(scope="module")
def gov_genesis() -> Genesis:
    return governance_genesis()


@pytest.fixture()
def gov_state(gov_genesis: Genesis) -> State:
    return State(genesis_reader(gov_genesis))


@pytest.fixture()
def gov_store(tmp_path: Path, gov_genesis: Genesis) -> Iterator[Store]:
    opened = Store(tmp_path / "gov-db", gov_genesis)
    yield opened
    opened.close()


def set_names(state: State | Store) -> dict[str, int]:
    """The validator set in `state` as {name: power}."""
    reader = state if isinstance(state, State) else State(state)
    return {name: power for _, name, power in governance.validators_in(reader)}


# Blocks with certificates signed by the test validators ---------------------------------------------------


def certificate_by(executed: ExecutedBlock, signers: tuple[str, ...], chain_id: str = CHAIN_ID) -> bytes:
    """A commit certificate for `executed`, with the precommits of the named validators (sorted by key)."""
    header = executed.block.header
    signatures = sorted(
        (VKEYS[name].public_key, sign_precommit(VKEYS[name], chain_id, header.height, 0, executed.block.hash)) for name in signers
    )
    return CommitCertificate(header.height, 0, executed.block.hash, tuple(signatures)).to_bytes()


def commit_block(store: Store, txs: list[SignedTx], signers: tuple[str, ...] | None = None) -> ExecutedBlock:
    """Build the next block from `txs` (every one must apply) and commit it with a certificate of `signers`
    (by default every validator of the block's height, as the state before it says)."""
    if signers is None:
        signers = tuple(set_names(store))
    executed, left_out = build_block(store, store.tip, CHAIN_ID, store.tip.time_ms + 1_000, VKEYS["v0"].public_key, txs)
    assert not left_out, [(item.tx.body.TYPE, item.refusal) for item in left_out]
    store.commit_block(executed, certificate_by(executed, signers))
    return executed


def bundle_bytes(store: Store, height: int) -> bytes:
    return codec.encode({
        "block": store.get_block_bytes(height),
        "certificate": store.get_certificate(height),
        "receipts": [codec.encode(receipt.to_map()) for receipt in store.get_receipts(height)],
    })


def history_of(store: Store) -> list[dict[str, Any]]:
    """What GET /v1/governance lists, as much as follow_validator_set reads of it."""
    history = []
    for height, index in store.governance_history():
        block = store.get_block(height)
        assert block is not None
        history.append({"height": height, "index": index, "type": block.txs[index].body.TYPE})
    return history


# Decoding -------------------------------------------------------------------------------------------------


def test_only_the_gov_types_are_governance() -> None:
    assert is_governance(gov_body("gov_register_currency", {"currency": "KRW", "decimals": 0, "issuer": ADDRESSES["dave"],
                                                            "holders_need_authorization": False, "auditor": ADDRESSES["carol"]}))
    assert is_governance(gov_body("gov_set_issuer", {"currency": "USD", "issuer": ADDRESSES["dave"]}))
    assert is_governance(gov_body("gov_set_auditor", {"currency": "USD", "auditor": ADDRESSES["dave"], "reserve_max_age_ms": 0}))
    assert is_governance(set_validator("v3", 0, 5).body)
    assert not is_governance(transfer("alice", 0, "bob", "USD", 1).body)


def test_a_well_formed_governance_transaction_round_trips_with_sorted_blobs() -> None:
    body = gov_body("gov_set_issuer", {"currency": "USD", "issuer": ADDRESSES["dave"]})
    blobs = [blob(name, body) for name in ("v2", "v0", "v3")]
    tx = assemble_tx(body, blobs)
    assert list(tx.signatures) == sorted(blobs)
    assert all(len(s) == 96 for s in tx.signatures)
    decoded = decode_tx(tx.raw)
    assert decoded.signatures == tx.signatures and decoded.body == body
    assert set(decoded.signers()) == {VKEYS[name].public_key for name in ("v0", "v2", "v3")}
    assert list(decoded.signers()) == sorted(decoded.signers())


@pytest.mark.parametrize("length", [64, 95, 97, 128])
def test_governance_blobs_must_be_96_bytes(length: int) -> None:
    tx = set_issuer("USD", "dave")
    signatures = sorted([*tx.signatures[:2], (tx.signatures[2] * 2)[:length]])
    with pytest.raises(TxError) as caught:
        decode_tx(raw_with_signatures(tx, signatures))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


def test_governance_blobs_must_be_distinct() -> None:
    tx = set_issuer("USD", "dave")
    with pytest.raises(TxError, match="distinct") as caught:
        decode_tx(raw_with_signatures(tx, [tx.signatures[0], tx.signatures[0], *tx.signatures[1:]]))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


def test_governance_blobs_of_one_key_with_different_signatures_are_refused() -> None:
    """Distinct means distinct validator keys, not merely distinct bytes."""
    tx = set_issuer("USD", "dave")
    first = tx.signatures[0]
    forged = first[:32] + bytes(64)
    with pytest.raises(TxError, match="distinct") as caught:
        decode_tx(raw_with_signatures(tx, sorted([first, forged, *tx.signatures[1:]])))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


def test_governance_blobs_must_be_sorted() -> None:
    tx = set_issuer("USD", "dave")
    with pytest.raises(TxError, match="sorted") as caught:
        decode_tx(raw_with_signatures(tx, list(reversed(tx.signatures))))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


def test_a_governance_transaction_without_signatures_is_refused() -> None:
    tx = set_issuer("USD", "dave")
    with pytest.raises(TxError) as caught:
        decode_tx(raw_with_signatures(tx, []))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


def test_too_many_governance_signatures_are_refused() -> None:
    tx = set_issuer("USD", "dave")
    too_many = sorted(key_of(f"many-{i}").public_key + bytes(64) for i in range(limits.GOVERNANCE_SIGNATURES_MAX + 1))
    with pytest.raises(TxError) as caught:
        decode_tx(raw_with_signatures(tx, too_many))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


def test_other_types_still_need_plain_64_byte_signatures() -> None:
    tx = transfer("alice", 0, "bob", "USD", 100)
    assert decode_tx(tx.raw).signatures == tx.signatures
    as_blob = KEYS["alice"].public_key + tx.signatures[0]
    with pytest.raises(TxError, match="64 bytes") as caught:
        decode_tx(raw_with_signatures(tx, [as_blob]))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE
    with pytest.raises(TxError) as caught:
        decode_tx(raw_with_signatures(tx, []))
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


# Quorum ---------------------------------------------------------------------------------------------------


def test_two_of_four_validators_are_not_a_quorum(gov_state: State) -> None:
    tx = register(signers=("v0", "v1"))
    outcome = apply_tx(gov_state, tx, context())
    assert outcome.refusal is Refusal.GOVERNANCE_QUORUM_MISSING
    assert list(gov_state.changes()) == []
    missing = governance.missing_signers(gov_state, tx)
    assert [name for _, name, _ in missing] == sorted(["v2", "v3"], key=lambda n: VKEYS[n].public_key)
    assert {power for _, _, power in missing} == {10}


def test_exactly_two_thirds_of_the_power_is_refused() -> None:
    state = State(genesis_reader(governance_genesis({"v0": 10, "v1": 10, "v2": 10})))
    outcome = apply_tx(state, register(signers=("v0", "v1")), context())  # 20 of 30
    assert outcome.refusal is Refusal.GOVERNANCE_QUORUM_MISSING
    assert list(state.changes()) == []
    assert apply_tx(state, register(signers=("v0", "v1", "v2")), context()).applied


def test_one_validator_holding_exactly_two_thirds_is_refused() -> None:
    state = State(genesis_reader(governance_genesis({"v0": 20, "v1": 10})))
    assert apply_tx(state, register(signers=("v0",)), context()).refusal is Refusal.GOVERNANCE_QUORUM_MISSING
    assert apply_tx(state, register(signers=("v0", "v1")), context()).applied


def test_more_than_two_thirds_is_accepted(gov_state: State) -> None:
    outcome = apply_tx(gov_state, register(signers=("v1", "v2", "v3")), context())  # 30 of 40
    assert outcome.applied
    assert outcome.events[0]["kind"] == "currency_registered"


def test_a_barely_larger_share_than_two_thirds_is_accepted() -> None:
    state = State(genesis_reader(governance_genesis({"v0": 201, "v1": 100})))  # 201 of 301: 603 > 602
    assert apply_tx(state, register(signers=("v0",)), context()).applied


def test_signatures_of_non_validators_do_not_count(gov_state: State) -> None:
    tx = register(signers=("v0", "v1", "x0", "x1", "x2"))
    assert decode_tx(tx.raw).signatures == tx.signatures
    assert apply_tx(gov_state, tx, context()).refusal is Refusal.GOVERNANCE_QUORUM_MISSING
    assert [name for _, name, _ in governance.missing_signers(gov_state, tx)] == sorted(["v2", "v3"], key=lambda n: VKEYS[n].public_key)


def test_a_signature_over_another_chain_id_fails_signatures_valid() -> None:
    from corridor.ledger.tx import signatures_valid

    good = register()
    assert signatures_valid(good, CHAIN_ID)
    assert not signatures_valid(good, OTHER_CHAIN_ID)
    body = good.body
    mixed = assemble_tx(body, [blob("v0", body), blob("v1", body), blob("v2", body, chain_id=OTHER_CHAIN_ID)])
    assert not signatures_valid(decode_tx(mixed.raw), CHAIN_ID)


def test_a_blob_whose_key_is_swapped_does_not_verify() -> None:
    from corridor.ledger.tx import signatures_valid

    tx = register()
    # v3's key with v0's signature: it claims v3 signed
    swapped = VKEYS["v3"].public_key + tx.signatures[0][32:]
    forged = assemble_tx(tx.body, [swapped, *tx.signatures[1:]])
    assert not signatures_valid(forged, CHAIN_ID)


# Governance nonce -----------------------------------------------------------------------------------------


def test_the_governance_nonce_advances_and_a_replay_is_refused(gov_state: State) -> None:
    tx = register()
    assert expected_nonce(gov_state, tx) == 0
    assert apply_tx(gov_state, tx, context()).applied
    assert governance.get_gov_nonce(gov_state) == 1
    assert expected_nonce(gov_state, tx) == 1
    assert apply_tx(gov_state, tx, context(2)).refusal is Refusal.BAD_NONCE
    assert governance.get_gov_nonce(gov_state) == 1


def test_a_governance_nonce_from_the_future_is_refused(gov_state: State) -> None:
    assert apply_tx(gov_state, register(nonce=1), context()).refusal is Refusal.BAD_NONCE
    assert list(gov_state.changes()) == []


def test_governance_leaves_account_nonces_untouched(gov_state: State) -> None:
    proposer = address_of(VKEYS["v0"].public_key)
    assert apply_tx(gov_state, register(), context()).applied
    assert apply_tx(gov_state, set_issuer("KRW", "carol", nonce=1), context()).applied
    for name in (*VALIDATOR_NAMES, "dave", "carol"):
        address = ADDRESSES.get(name) or address_of(VKEYS[name].public_key)
        assert gov_state.get_nonce(address) == 0
    assert gov_state.get_nonce(proposer) == 0
    # and account transactions keep their own sequence, unaffected by the governance nonce
    tx = transfer("alice", 0, "bob", "USD", 1)
    assert expected_nonce(gov_state, tx) == 0
    assert apply_tx(gov_state, tx, context()).applied
    assert governance.get_gov_nonce(gov_state) == 2


def test_a_refused_governance_transaction_does_not_use_up_the_nonce(gov_state: State) -> None:
    assert apply_tx(gov_state, register(code="USD"), context()).refusal is Refusal.CURRENCY_EXISTS
    assert governance.get_gov_nonce(gov_state) == 0
    assert apply_tx(gov_state, register(), context()).applied


# Register a currency --------------------------------------------------------------------------------------


def test_a_registered_currency_starts_with_no_supply_and_no_reserve(gov_state: State) -> None:
    outcome = apply_tx(gov_state, register("KRW", "dave", decimals=0, allow_list=True), context(7))
    assert outcome.applied
    currency = gov_state.get_currency("KRW")
    assert currency is not None
    assert (currency.decimals, currency.issuer, currency.supply_minor, currency.reserve_minor) == (0, ADDRESSES["dave"], 0, 0)
    assert currency.holders_need_authorization is True
    assert currency.reserve_height == 7


def test_registering_an_existing_currency_is_refused(gov_state: State) -> None:
    assert apply_tx(gov_state, register("KRW"), context()).applied
    assert apply_tx(gov_state, register("KRW", "carol", nonce=1), context()).refusal is Refusal.CURRENCY_EXISTS
    assert gov_state.get_currency("KRW").issuer == ADDRESSES["dave"]
    assert apply_tx(gov_state, register("USD", "carol", nonce=1), context()).refusal is Refusal.CURRENCY_EXISTS


def test_minting_a_new_currency_waits_for_the_auditors_attestation(gov_state: State) -> None:
    assert apply_tx(gov_state, register("KRW", "dave"), context()).applied
    assert apply_tx(gov_state, mint("dave", 0, "alice", "KRW", 1), context()).refusal is Refusal.EXCEEDS_RESERVES
    assert apply_tx(gov_state, mint("carol", 0, "alice", "KRW", 1), context()).refusal is Refusal.NOT_ISSUER
    assert apply_tx(gov_state, attest("dave", 0, "KRW", 1_000), context()).refusal is Refusal.NOT_AUDITOR
    assert apply_tx(gov_state, attest("jpy_auditor", 0, "KRW", 1_000), context()).applied
    assert apply_tx(gov_state, mint("dave", 0, "alice", "KRW", 1_000), context()).applied
    assert apply_tx(gov_state, mint("dave", 1, "alice", "KRW", 1), context()).refusal is Refusal.EXCEEDS_RESERVES
    assert gov_state.get_balance(ADDRESSES["alice"], "KRW") == 1_000
    assert gov_state.get_currency("KRW").supply_minor == 1_000


# Set issuer -----------------------------------------------------------------------------------------------


def test_a_new_issuer_gains_the_rights_and_the_old_one_loses_them(gov_state: State) -> None:
    before = gov_state.get_currency("USD")
    outcome = apply_tx(gov_state, set_issuer("USD", "carol"), context())
    assert outcome.applied and outcome.events[0]["kind"] == "issuer_changed"
    after = gov_state.get_currency("USD")
    assert after.issuer == ADDRESSES["carol"]
    assert (after.supply_minor, after.reserve_minor, after.reserve_report_hash) == (before.supply_minor, before.reserve_minor, before.reserve_report_hash)
    assert apply_tx(gov_state, mint("usd_issuer", 0, "alice", "USD", 1), context()).refusal is Refusal.NOT_ISSUER
    assert apply_tx(gov_state, mint("carol", 0, "alice", "USD", 100), context()).applied
    # The reserve stays with the currency's auditor: neither issuer attests it.
    assert apply_tx(gov_state, attest("carol", 1, "USD", before.reserve_minor + 1), context()).refusal is Refusal.NOT_AUDITOR
    assert apply_tx(gov_state, attest("usd_auditor", 0, "USD", before.reserve_minor + 1), context()).applied


def test_setting_the_issuer_of_an_unknown_currency_is_refused(gov_state: State) -> None:
    assert apply_tx(gov_state, set_issuer("EUR", "carol"), context()).refusal is Refusal.UNKNOWN_CURRENCY
    assert governance.get_gov_nonce(gov_state) == 0


# Set validator: the effective height ----------------------------------------------------------------------


@pytest.mark.parametrize("ahead, refusal", [
    (-1, Refusal.BAD_EFFECTIVE_HEIGHT),
    (0, Refusal.BAD_EFFECTIVE_HEIGHT),
    (1, Refusal.BAD_EFFECTIVE_HEIGHT),
    (2, None),
    (100_000, None),
    (100_001, Refusal.BAD_EFFECTIVE_HEIGHT),
])
def test_the_effective_height_is_2_to_100000_blocks_ahead(gov_state: State, ahead: int, refusal: Refusal | None) -> None:
    height = 10
    outcome = apply_tx(gov_state, set_validator("v3", 0, height + ahead), context(height))
    assert outcome.refusal is refusal
    if refusal is None:
        assert outcome.events[0]["effective_height"] == height + ahead
        assert governance.get_gov_nonce(gov_state) == 1
    else:
        assert list(gov_state.changes()) == []
    # nothing changes the current set: only end_block applies a change
    assert set_names(gov_state) == {name: 10 for name in VALIDATOR_NAMES}


# Set validator: applied exactly at the effective height ---------------------------------------------------


def test_a_removal_takes_effect_exactly_at_its_height(gov_store: Store) -> None:
    full = {name: 10 for name in VALIDATOR_NAMES}
    after = {name: 10 for name in ("v0", "v1", "v2")}
    commit_block(gov_store, [set_validator("v3", 0, 4)])  # height 1: committed 3 blocks ahead
    scheduled = list(State(gov_store).iterate(b"w/"))
    assert [key for key, _ in scheduled] == [governance.scheduled_prefix(4) + VKEYS["v3"].public_key]
    expected_after = {1: full, 2: full, 3: after, 4: after, 5: after}  # the state after h holds the set of h + 1
    for height in range(1, 6):
        if height > 1:
            commit_block(gov_store, [])
        assert gov_store.tip.height == height
        assert set_names(gov_store) == expected_after[height], height
    assert list(State(gov_store).iterate(b"w/")) == []


def test_an_addition_and_a_power_change_take_effect_together(gov_store: Store) -> None:
    commit_block(gov_store, [set_validator(NEWCOMER, 7, 3), set_validator("v0", 25, 3, nonce=1)])
    assert set_names(gov_store) == {name: 10 for name in VALIDATOR_NAMES}
    commit_block(gov_store, [])
    assert set_names(gov_store) == {"v0": 25, "v1": 10, "v2": 10, "v3": 10, NEWCOMER: 7}
    # the new set decides the next governance quorum: 62 in all, more than 41.33 needed
    state = State(gov_store)
    assert apply_tx(state, register(signers=("v1", "v2", "v3", NEWCOMER), nonce=2), context(3)).refusal is Refusal.GOVERNANCE_QUORUM_MISSING  # 37
    assert apply_tx(state, register(signers=("v0", "v1", "v2"), nonce=2), context(3)).applied  # 45


def test_removing_the_last_validator_is_skipped(store: Store) -> None:
    """On the single-validator unit genesis: the removal commits, falls due, and is skipped."""
    only = KEYS["validator"]
    body = build_body("gov_set_validator", {"signer": only.public_key, "nonce": 0, "validator_key": only.public_key,
                                            "validator_name": "validator", "power": 0, "effective_height": 3})
    tx = assemble_tx(body, [only.public_key + only.sign(signing_bytes(CHAIN_ID, body))])
    for txs in ([tx], [], [], []):
        executed, left_out = build_block(store, store.tip, CHAIN_ID, store.tip.time_ms + 1_000, only.public_key, txs)
        assert not left_out
        store.commit_block(executed, b"")
    assert [(key, name, power) for key, name, power in governance.validators_in(State(store))] == [(only.public_key, "validator", 1)]
    assert list(State(store).iterate(b"w/")) == []


def test_events_of_end_block_name_the_skipped_removal() -> None:
    state = State(genesis_reader(governance_genesis({"v0": 10})))
    state.put_record(governance.scheduled_prefix(5) + VKEYS["v0"].public_key, {"name": "v0", "power": 0})
    events = governance.end_block(state, 4)
    assert [event["kind"] for event in events] == ["validator_change_skipped"]
    assert set_names(state) == {"v0": 10}


def test_removing_every_validator_at_once_keeps_the_last_one(tmp_path: Path) -> None:
    genesis = governance_genesis({"v0": 10, "v1": 10})
    store = Store(tmp_path / "two", genesis)
    try:
        commit_block(store, [set_validator("v0", 0, 3, signers=("v0", "v1")), set_validator("v1", 0, 3, signers=("v0", "v1"), nonce=1)])
        commit_block(store, [])
        keys = sorted(["v0", "v1"], key=lambda n: VKEYS[n].public_key)
        assert set_names(store) == {keys[1]: 10}  # changes apply in key order; the one that would empty the set is skipped
        # the verifier's reading of the same history agrees with the chain
        followed = follow_validator_set(lambda h: bundle_bytes(store, h), history_of(store), genesis, 3)
        assert [name for _, name, _ in followed] == [keys[1]]
    finally:
        store.close()


def test_headers_commit_to_the_set_that_signs_their_height(gov_store: Store) -> None:
    old = entries_of({name: 10 for name in VALIDATOR_NAMES})
    new = entries_of({"v0": 10, "v1": 10, "v2": 10, NEWCOMER: 5})
    commit_block(gov_store, [set_validator("v3", 0, 3), set_validator(NEWCOMER, 5, 3, nonce=1)])
    for _ in range(3):
        commit_block(gov_store, [])
    hashes = {h: gov_store.get_block(h).header.validators_hash for h in range(1, 5)}
    assert hashes[1] == hashes[2] == governance.validators_hash(old)
    assert hashes[3] == hashes[4] == governance.validators_hash(new)
    assert governance.validators_hash(old) != governance.validators_hash(new)
    # the hash is of the set, whatever the order it is given in
    assert governance.validators_hash(list(reversed(new))) == governance.validators_hash(new)


def test_a_block_claiming_another_validators_hash_does_not_execute(gov_store: Store) -> None:
    from dataclasses import replace

    from corridor.ledger.block import Block, InvalidBlock, execute_block

    executed, _ = build_block(gov_store, gov_store.tip, CHAIN_ID, gov_store.tip.time_ms + 1_000, VKEYS["v0"].public_key, [])
    forged_header = replace(executed.block.header, validators_hash=governance.validators_hash(entries_of({"v0": 10})))
    with pytest.raises(InvalidBlock, match="header"):
        execute_block(gov_store, gov_store.tip, CHAIN_ID, Block(forged_header, executed.block.txs))


# Offline verification across a validator change -----------------------------------------------------------

OLD_SET = ("v0", "v1", "v2", "v3")
NEW_SET = ("v0", "v1", "v2")


@pytest.fixture()
def changed_chain(gov_store: Store) -> Store:
    """Height 1: a transfer; height 2: v3 removed from height 4 on; heights 3..5: transfers. Each block's
    certificate is signed by every validator of its height."""
    commit_block(gov_store, [transfer("alice", 0, "bob", "USD", 1)], OLD_SET)
    commit_block(gov_store, [transfer("alice", 1, "bob", "USD", 1), set_validator("v3", 0, 4)], OLD_SET)
    commit_block(gov_store, [transfer("alice", 2, "bob", "USD", 1)], OLD_SET)
    commit_block(gov_store, [transfer("alice", 3, "bob", "USD", 1)], NEW_SET)
    commit_block(gov_store, [transfer("alice", 4, "bob", "USD", 1)], NEW_SET)
    assert set_names(gov_store) == {name: 10 for name in NEW_SET}
    return gov_store


def fetcher(store: Store) -> Any:
    return lambda height: bundle_bytes(store, height)


def test_the_verifier_follows_the_set_through_a_change(changed_chain: Store, gov_genesis: Genesis) -> None:
    history = history_of(changed_chain)
    assert history == [{"height": 2, "index": 1, "type": "gov_set_validator"}]
    for height, signers in ((1, OLD_SET), (2, OLD_SET), (3, OLD_SET), (4, NEW_SET), (5, NEW_SET)):
        entries = follow_validator_set(fetcher(changed_chain), history, gov_genesis, height)
        assert sorted(name for _, name, _ in entries) == sorted(signers), height
        verified = verify_block_bundle(bundle_bytes(changed_chain, height), gov_genesis, entries)
        assert verified.height == height
        assert verified.signed_power == verified.total_power == 10 * len(signers)


def test_a_block_after_the_change_signed_by_the_old_set_is_refused(changed_chain: Store, gov_genesis: Genesis) -> None:
    """Block 4's header is genuine, but its certificate comes from v1, v2, v3: a quorum of the old set only."""
    document = codec.decode(bundle_bytes(changed_chain, 4), 1 << 20)
    block_hash = CommitCertificate.from_bytes(document["certificate"]).block_hash
    signatures = sorted((VKEYS[n].public_key, sign_precommit(VKEYS[n], CHAIN_ID, 4, 0, block_hash)) for n in ("v1", "v2", "v3"))
    document["certificate"] = CommitCertificate(4, 0, block_hash, tuple(signatures)).to_bytes()
    forged = codec.encode(document)
    # the old set would take this certificate as proof...
    old = ValidatorSet([Validator(n, VKEYS[n].public_key, 10) for n in OLD_SET])
    verify_certificate(CommitCertificate.from_bytes(document["certificate"]), old, CHAIN_ID, 4, block_hash)
    entries = follow_validator_set(fetcher(changed_chain), history_of(changed_chain), gov_genesis, 4)
    with pytest.raises(VerificationError, match="certificate"):
        verify_block_bundle(forged, gov_genesis, entries)


def test_the_old_set_alone_cannot_certify_a_block_after_the_change(changed_chain: Store, gov_genesis: Genesis) -> None:
    """Even with the new set's hash in the header, two of the remaining validators are not a quorum of it."""
    document = codec.decode(bundle_bytes(changed_chain, 5), 1 << 20)
    block_hash = CommitCertificate.from_bytes(document["certificate"]).block_hash
    signatures = sorted((VKEYS[n].public_key, sign_precommit(VKEYS[n], CHAIN_ID, 5, 0, block_hash)) for n in ("v1", "v2"))
    document["certificate"] = CommitCertificate(5, 0, block_hash, tuple(signatures)).to_bytes()
    entries = follow_validator_set(fetcher(changed_chain), history_of(changed_chain), gov_genesis, 5)
    with pytest.raises(VerificationError, match="power"):
        verify_block_bundle(codec.encode(document), gov_genesis, entries)


def test_a_history_that_omits_the_change_is_caught(changed_chain: Store, gov_genesis: Genesis) -> None:
    entries = follow_validator_set(fetcher(changed_chain), [], gov_genesis, 4)
    assert sorted(name for _, name, _ in entries) == sorted(OLD_SET)
    with pytest.raises(VerificationError, match="another validator set"):
        verify_block_bundle(bundle_bytes(changed_chain, 4), gov_genesis, entries)
    # and the genesis set alone (no history at all) is caught the same way
    with pytest.raises(VerificationError, match="another validator set"):
        verify_block_bundle(bundle_bytes(changed_chain, 5), gov_genesis)


def test_a_history_entry_mislabelled_as_another_type_is_like_an_omission(changed_chain: Store, gov_genesis: Genesis) -> None:
    history = [{"height": 2, "index": 1, "type": "gov_register_currency"}]
    entries = follow_validator_set(fetcher(changed_chain), history, gov_genesis, 5)
    with pytest.raises(VerificationError, match="another validator set"):
        verify_block_bundle(bundle_bytes(changed_chain, 5), gov_genesis, entries)


@pytest.mark.parametrize("entry, message", [
    ({"height": 2, "index": 0, "type": "gov_set_validator"}, "no validator change"),  # the transfer of block 2
    ({"height": 3, "index": 0, "type": "gov_set_validator"}, "no validator change"),  # a block with none
    ({"height": 2, "index": 2, "type": "gov_set_validator"}, "points past"),
    ({"height": 2, "index": -1, "type": "gov_set_validator"}, "points past"),
])
def test_a_history_entry_that_is_not_a_validator_change_is_refused(
    changed_chain: Store, gov_genesis: Genesis, entry: dict[str, Any], message: str
) -> None:
    history = [*history_of(changed_chain), entry] if entry["height"] == 3 else [entry, *history_of(changed_chain)]
    with pytest.raises(VerificationError, match=message):
        follow_validator_set(fetcher(changed_chain), history, gov_genesis, 5)


def test_a_change_certified_by_the_wrong_set_is_refused_while_following(tmp_path: Path, gov_genesis: Genesis) -> None:
    """The block carrying a validator change must itself be certified by its height's set."""
    store = Store(tmp_path / "bad", gov_genesis)
    try:
        commit_block(store, [set_validator("v3", 0, 3)], ("v0", "v1"))  # only 20 of 40 signed block 1
        commit_block(store, [], OLD_SET)
        commit_block(store, [transfer("alice", 0, "bob", "USD", 1)], NEW_SET)
        with pytest.raises(VerificationError, match="power"):
            follow_validator_set(fetcher(store), history_of(store), gov_genesis, 3)
    finally:
        store.close()


def test_two_changes_of_one_validator_for_the_same_height_are_followed_like_the_chain(gov_store: Store, gov_genesis: Genesis) -> None:
    commit_block(gov_store, [set_validator("v0", 30, 4)])
    commit_block(gov_store, [set_validator("v0", 5, 4, nonce=1)])  # overrides the first: v0 will hold 5
    commit_block(gov_store, [])
    assert set_names(gov_store)["v0"] == 5
    commit_block(gov_store, [transfer("alice", 0, "bob", "USD", 1)])
    entries = follow_validator_set(fetcher(gov_store), history_of(gov_store), gov_genesis, 4)
    assert {name: power for _, name, power in entries}["v0"] == 5
    verify_block_bundle(bundle_bytes(gov_store, 4), gov_genesis, entries)


def test_the_validator_set_cannot_outgrow_what_one_governance_transaction_can_sign() -> None:
    cap = limits.GOVERNANCE_SIGNATURES_MAX
    names = [f"big-{i:02d}" for i in range(cap)]
    keys = {name: key_of(name) for name in [*names, "big-new"]}
    document = genesis_document()
    document["validators"] = [{"name": n, "public_key": keys[n].public_key.hex(), "power": 1} for n in names]
    state = State(genesis_reader(parse_genesis(document)))

    def signed(fields: dict[str, Any], type_name: str, nonce: int, signers: list[str]) -> SignedTx:
        body = build_body(type_name, {"signer": keys[signers[0]].public_key, "nonce": nonce, **fields})
        return assemble_tx(body, [keys[n].public_key + keys[n].sign(signing_bytes(CHAIN_ID, body)) for n in signers])

    grow = signed({"validator_key": keys["big-new"].public_key, "validator_name": "big-new", "power": 1, "effective_height": 3},
                  "gov_set_validator", 0, names)
    assert apply_tx(state, grow, context(1)).refusal == Refusal.TOO_MANY_VALIDATORS
    shrink = signed({"validator_key": keys[names[0]].public_key, "validator_name": names[0], "power": 0, "effective_height": 6},
                    "gov_set_validator", 0, names)
    decode_tx(shrink.raw)
    assert apply_tx(state, shrink, context(4)).applied
    document["validators"].append({"name": "big-new", "public_key": keys["big-new"].public_key.hex(), "power": 1})
    with pytest.raises(GenesisError):
        parse_genesis(document)
