"""Issuer controls: allow-lists, freezes, clawback, pause, payment cap, travel rule, distributors.

For every control type: accepted from the currency's issuer with its exact writes and events; refused with
`not_issuer` from anyone else and `unknown_currency` for a currency that does not exist. Then every refusal
code the controls introduced, each reached on purpose, with the state (balances, nonces, currencies, holder
and distributor records, pending writes) exactly as it was before the refused transaction. Then decoding of
the new fields.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Callable

import pytest

from corridor import codec
from corridor.hashing import sha256
from corridor.ledger.genesis import GenesisError, parse_genesis
from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import Outcome, apply_tx
from corridor.ledger import licences
from corridor.ledger.state import Holder, State, account_key, balance_key, currency_key, holder_key
from corridor.ledger.tx import (
    Clawback,
    SetAuthorization,
    SetDistributor,
    SetFrozen,
    SetPaused,
    SetPolicy,
    SignedTx,
    Transfer,
    TxError,
    build_body,
    decode_tx,
    signatures_valid,
    tx_to_json,
)

from issuer_support import (
    REASON,
    TRAVEL_HASH,
    address_text,
    allow_list_genesis,
    clawback,
    control_snapshot,
    set_authorization,
    set_distributor,
    set_frozen,
    set_paused,
    set_policy,
    transfer_tr,
)
from orders_support import AUTHORITY, ORDER_HASH
from unit_support import (
    ADDRESSES,
    CHAIN_ID,
    KEYS,
    USD_RESERVE_MINOR,
    attest,
    burn,
    context,
    genesis_document,
    genesis_reader,
    mint,
    snapshot,
    transfer,
    tx_document,
)

CTX = context(1)
ALICE, BOB, CAROL, DAVE = (ADDRESSES[n] for n in ("alice", "bob", "carol", "dave"))
USD_ISSUER, JPY_ISSUER = ADDRESSES["usd_issuer"], ADDRESSES["jpy_issuer"]
USD_SUPPLY = 700_000  # alice 500_000 + bob 200_000 at genesis
JPY_SUPPLY = 1_030_000


class Nonces:
    """Hands out each account's next nonce, so a test reads as a story and not as nonce bookkeeping."""

    def __init__(self, state: State) -> None:
        self._state = state

    def __call__(self, name: str) -> int:
        return self._state.get_nonce(ADDRESSES[name])


def apply_ok(state: State, *txs: SignedTx) -> list[Outcome]:
    """Apply transactions that must succeed; their outcomes."""
    outcomes = []
    for tx in txs:
        outcome = apply_tx(state, tx, CTX)
        assert outcome.applied, f"{tx.body.TYPE} refused: {outcome.refusal}"
        outcomes.append(outcome)
    return outcomes


def assert_refused(state: State, tx: SignedTx, refusal: Refusal) -> None:
    """`tx` is refused with `refusal`, emits nothing, and leaves every readable thing and every pending write as it was."""
    before, controls_before = snapshot(state), control_snapshot(state)
    outcome = apply_tx(state, tx, CTX)
    assert outcome.refusal == refusal, f"{tx.body.TYPE}: expected {refusal.code}, got {outcome.refusal}"
    assert outcome.events == ()
    assert snapshot(state) == before
    assert control_snapshot(state) == controls_before


def written_keys(state: State) -> set[bytes]:
    return {key for key, _ in state.changes()}


def lawful_order(action: str, code: str, account: bytes, amount_minor: int) -> dict[str, Any]:
    """The `lawful_order` record a seizure with the unit tests' order ends its events with (ledger/orders.py)."""
    return {"kind": "lawful_order", "action": action, "currency": code, "account": account, "amount_minor": amount_minor,
            "authority": AUTHORITY, "order_hash": ORDER_HASH, "order_expiry_ms": 0, "approvers": [],
            "approvals_required": 0, "approved_by": "issuer"}


def currency(state: State, code: str):
    found = state.get_currency(code)
    assert found is not None
    return found


def balance(state: State, name: str, code: str) -> int:
    return state.get_balance(ADDRESSES[name], code)


@pytest.fixture()
def allow_state() -> State:
    """A state over a genesis where USD is an allow-list currency (holders need authorisation); JPY is open."""
    return State(genesis_reader(allow_list_genesis("USD")))


# ---------------------------------------------------------------------------------------------------------
# Each control, accepted from its issuer: exact writes and events


def test_set_authorization_records_the_holder_and_deauthorization_deletes_the_record(state: State) -> None:
    [outcome] = apply_ok(state, set_authorization("usd_issuer", 0, "USD", "alice", True))
    assert outcome.events == ({"kind": "authorized", "currency": "USD", "account": ALICE},)
    assert state.get_holder(ALICE, "USD") == Holder(authorized=True, frozen=False)
    assert state.get_holder(ALICE, "JPY") == Holder()  # per currency
    assert state.get_nonce(USD_ISSUER) == 1
    assert written_keys(state) == {account_key(USD_ISSUER), holder_key(ALICE, "USD")}
    assert dict(state.changes())[holder_key(ALICE, "USD")] == codec.encode({"authorized": True, "frozen": False})

    [outcome] = apply_ok(state, set_authorization("usd_issuer", 1, "USD", "alice", False))
    assert outcome.events == ({"kind": "deauthorized", "currency": "USD", "account": ALICE},)
    assert state.get_holder(ALICE, "USD") == Holder()
    # Both flags false: the record is deleted, never stored as an empty record.
    assert dict(state.changes())[holder_key(ALICE, "USD")] is None
    assert state.get_balance(ALICE, "USD") == 500_000 and currency(state, "USD").supply_minor == USD_SUPPLY


def test_set_frozen_records_the_freeze_with_its_reason_and_unfreeze_lifts_it(state: State) -> None:
    reason = sha256(b"court order 17")
    [outcome] = apply_ok(state, set_frozen("usd_issuer", 0, "USD", "bob", True, reason))
    assert outcome.events == ({"kind": "frozen", "currency": "USD", "account": BOB, "reason_hash": reason},
                              lawful_order("freeze", "USD", BOB, 0))
    assert state.get_holder(BOB, "USD") == Holder(authorized=False, frozen=True)
    assert written_keys(state) == {account_key(USD_ISSUER), holder_key(BOB, "USD")}
    assert state.get_balance(BOB, "USD") == 200_000, "a freeze moves nothing"

    [outcome] = apply_ok(state, set_frozen("usd_issuer", 1, "USD", "bob", False, REASON))
    assert outcome.events == ({"kind": "unfrozen", "currency": "USD", "account": BOB, "reason_hash": REASON},)
    assert state.get_holder(BOB, "USD") == Holder()
    assert dict(state.changes())[holder_key(BOB, "USD")] is None


def test_freeze_and_authorization_are_independent_flags_of_one_record(state: State) -> None:
    apply_ok(state, set_authorization("usd_issuer", 0, "USD", "carol"), set_frozen("usd_issuer", 1, "USD", "carol"))
    assert state.get_holder(CAROL, "USD") == Holder(authorized=True, frozen=True)
    apply_ok(state, set_authorization("usd_issuer", 2, "USD", "carol", False))
    assert state.get_holder(CAROL, "USD") == Holder(authorized=False, frozen=True)
    apply_ok(state, set_authorization("usd_issuer", 3, "USD", "carol"), set_frozen("usd_issuer", 4, "USD", "carol", False))
    assert state.get_holder(CAROL, "USD") == Holder(authorized=True, frozen=False)


def test_clawback_moves_coins_of_a_frozen_account_to_the_issuer_and_leaves_supply_unchanged(state: State) -> None:
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "alice"))
    reason = sha256(b"case 2026-114")
    [outcome] = apply_ok(state, clawback("usd_issuer", 1, "USD", "alice", 120_000, reason))
    assert outcome.events == (
        {"kind": "clawback", "currency": "USD", "from": ALICE, "to": USD_ISSUER, "amount_minor": 120_000, "reason_hash": reason},
        lawful_order("clawback", "USD", ALICE, 120_000),
    )
    assert state.get_balance(ALICE, "USD") == 380_000
    assert state.get_balance(USD_ISSUER, "USD") == 120_000
    assert currency(state, "USD").supply_minor == USD_SUPPLY
    assert state.get_nonce(USD_ISSUER) == 2 and state.get_nonce(ALICE) == 0
    assert state.get_holder(ALICE, "USD").frozen, "the account stays frozen"

    # The rest of the balance: the entry is deleted, and the issuer can then burn what it took back.
    apply_ok(state, clawback("usd_issuer", 2, "USD", "alice", 380_000))
    assert state.get_balance(ALICE, "USD") == 0
    assert dict(state.changes())[balance_key(ALICE, "USD")] is None
    assert state.get_balance(USD_ISSUER, "USD") == 500_000
    assert currency(state, "USD").supply_minor == USD_SUPPLY
    apply_ok(state, burn("usd_issuer", 3, "USD", 500_000))
    assert currency(state, "USD").supply_minor == USD_SUPPLY - 500_000
    assert state.get_balance(USD_ISSUER, "USD") == 0


def test_clawback_takes_only_the_named_currency(state: State) -> None:
    apply_ok(state, set_frozen("jpy_issuer", 0, "JPY", "alice"), clawback("jpy_issuer", 1, "JPY", "alice", 1_000_000))
    assert state.get_balance(ALICE, "JPY") == 0 and state.get_balance(JPY_ISSUER, "JPY") == 1_000_000
    assert state.get_balance(ALICE, "USD") == 500_000
    assert currency(state, "JPY").supply_minor == JPY_SUPPLY


def test_set_paused_pauses_and_resumes_the_currency(state: State) -> None:
    [outcome] = apply_ok(state, set_paused("usd_issuer", 0, "USD", True))
    assert outcome.events == ({"kind": "paused", "currency": "USD"},)
    assert currency(state, "USD").paused and not currency(state, "JPY").paused
    assert written_keys(state) == {account_key(USD_ISSUER), currency_key("USD")}

    [outcome] = apply_ok(state, set_paused("usd_issuer", 1, "USD", False))
    assert outcome.events == ({"kind": "resumed", "currency": "USD"},)
    assert not currency(state, "USD").paused


def test_set_paused_changes_only_the_paused_flag(state: State, reader) -> None:
    genesis_usd = State(reader).get_currency("USD")
    apply_ok(state, set_paused("usd_issuer", 0, "USD", True))
    assert currency(state, "USD") == replace(genesis_usd, paused=True)


def test_set_distributor_licenses_and_revokes(state: State) -> None:
    # The legacy form of the licence registry (ledger/licences.py): a distribute licence, no jurisdiction, no expiry.
    [outcome] = apply_ok(state, set_distributor("usd_issuer", 0, "USD", "bob", True))
    assert outcome.events == ({"kind": "distributor_licensed", "currency": "USD", "account": BOB},)
    assert licences.get_licence(state, "USD", BOB, "distribute") == licences.Licence(
        "USD", BOB, "distribute", "", 0, "active", CTX.height, CTX.time_ms)
    assert licences.get_licence(state, "JPY", BOB, "distribute") is None and licences.get_licence(state, "USD", ALICE, "distribute") is None
    assert licences.get_licence(state, "USD", BOB, "exchange") is None
    assert written_keys(state) == {account_key(USD_ISSUER), licences.record_key("USD", BOB, "distribute"),
                                   licences.account_key(BOB, "USD", "distribute")}

    [outcome] = apply_ok(state, set_distributor("usd_issuer", 1, "USD", "bob", False))
    assert outcome.events == ({"kind": "distributor_revoked", "currency": "USD", "account": BOB},)
    assert licences.get_licence(state, "USD", BOB, "distribute") is None
    assert dict(state.changes())[licences.record_key("USD", BOB, "distribute")] is None
    assert dict(state.changes())[licences.account_key(BOB, "USD", "distribute")] is None


def test_set_policy_sets_all_three_fields_at_once(state: State, reader) -> None:
    genesis_jpy = State(reader).get_currency("JPY")
    [outcome] = apply_ok(state, set_policy("jpy_issuer", 0, "JPY", 100_000, 20_000, True))
    assert outcome.events == (
        {"kind": "policy_set", "currency": "JPY", "transfer_max_minor": 100_000, "travel_rule_threshold_minor": 20_000,
         "distributors_only": True},
    )
    assert currency(state, "JPY") == replace(
        genesis_jpy, transfer_max_minor=100_000, travel_rule_threshold_minor=20_000, distributors_only=True
    )
    assert written_keys(state) == {account_key(JPY_ISSUER), currency_key("JPY")}
    # Setting the policy again replaces every field, back to "no cap, no threshold, open distribution".
    apply_ok(state, set_policy("jpy_issuer", 1, "JPY"))
    assert currency(state, "JPY") == genesis_jpy


def test_currency_defaults_have_no_controls_in_force(state: State) -> None:
    for code in ("USD", "JPY"):
        found = currency(state, code)
        assert (found.holders_need_authorization, found.paused, found.transfer_max_minor,
                found.travel_rule_threshold_minor, found.distributors_only) == (False, False, 0, 0, False)


# ---------------------------------------------------------------------------------------------------------
# Only the issuer: not_issuer for anyone else, unknown_currency for a currency that does not exist

CONTROL_MAKERS: dict[str, Callable[[str, int, str], SignedTx]] = {
    "set_authorization": lambda sender, nonce, code: set_authorization(sender, nonce, code, "alice"),
    "set_frozen": lambda sender, nonce, code: set_frozen(sender, nonce, code, "alice"),
    "clawback": lambda sender, nonce, code: clawback(sender, nonce, code, "alice", 1),
    "set_paused": lambda sender, nonce, code: set_paused(sender, nonce, code),
    "set_distributor": lambda sender, nonce, code: set_distributor(sender, nonce, code, "alice"),
    "set_policy": lambda sender, nonce, code: set_policy(sender, nonce, code, 1, 1, True),
}


@pytest.mark.parametrize("type_name", CONTROL_MAKERS)
@pytest.mark.parametrize("sender", ["alice", "bob", "jpy_issuer"])
def test_control_from_anyone_but_the_issuer_is_refused_not_issuer(state: State, type_name: str, sender: str) -> None:
    # alice is the account the control names (she cannot free herself); jpy_issuer issues another currency.
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "alice"))  # so that a clawback would otherwise apply
    assert_refused(state, CONTROL_MAKERS[type_name](sender, 0, "USD"), Refusal.NOT_ISSUER)


@pytest.mark.parametrize("type_name", CONTROL_MAKERS)
def test_control_on_a_fresh_overlay_from_a_non_issuer_writes_nothing(state: State, type_name: str) -> None:
    outcome = apply_tx(state, CONTROL_MAKERS[type_name]("alice", 0, "USD"), CTX)
    assert outcome.refusal == Refusal.NOT_ISSUER
    assert list(state.changes()) == []


@pytest.mark.parametrize("type_name", CONTROL_MAKERS)
@pytest.mark.parametrize("sender", ["usd_issuer", "alice"])
def test_control_of_an_unknown_currency_is_refused_unknown_currency(state: State, type_name: str, sender: str) -> None:
    assert_refused(state, CONTROL_MAKERS[type_name](sender, 0, "EUR"), Refusal.UNKNOWN_CURRENCY)
    assert list(state.changes()) == []


@pytest.mark.parametrize("type_name", CONTROL_MAKERS)
def test_control_with_a_wrong_nonce_is_refused_bad_nonce(state: State, type_name: str) -> None:
    assert_refused(state, CONTROL_MAKERS[type_name]("usd_issuer", 1, "USD"), Refusal.BAD_NONCE)


# ---------------------------------------------------------------------------------------------------------
# currency_paused


def test_pause_stops_transfer_mint_and_burn_of_that_currency_only(state: State) -> None:
    apply_ok(state, set_paused("usd_issuer", 0, "USD"))
    assert_refused(state, transfer("alice", 0, "bob", "USD", 1), Refusal.CURRENCY_PAUSED)
    assert_refused(state, transfer("bob", 0, "usd_issuer", "USD", 1), Refusal.CURRENCY_PAUSED)  # even to the issuer
    assert_refused(state, mint("usd_issuer", 1, "alice", "USD", 1), Refusal.CURRENCY_PAUSED)
    assert_refused(state, mint("usd_issuer", 1, "usd_issuer", "USD", 1), Refusal.CURRENCY_PAUSED)
    assert_refused(state, burn("alice", 0, "USD", 1), Refusal.CURRENCY_PAUSED)
    # A paused currency is refused before the funds check: nothing of it moves at all.
    assert_refused(state, transfer("dave", 0, "bob", "USD", 1), Refusal.CURRENCY_PAUSED)
    assert_refused(state, burn("dave", 0, "USD", 5), Refusal.CURRENCY_PAUSED)
    # Other currencies are not affected.
    apply_ok(state, transfer("alice", 0, "bob", "JPY", 10), mint("jpy_issuer", 0, "carol", "JPY", 10), burn("carol", 0, "JPY", 10))


def test_attest_and_the_other_controls_work_while_paused_and_unpause_resumes(state: State) -> None:
    nonce = Nonces(state)
    apply_ok(state, set_paused("usd_issuer", 0, "USD"))
    apply_ok(state, attest("usd_auditor", nonce("usd_auditor"), "USD", USD_RESERVE_MINOR * 2))
    assert currency(state, "USD").reserve_minor == USD_RESERVE_MINOR * 2
    apply_ok(
        state,
        set_authorization("usd_issuer", nonce("usd_issuer"), "USD", "dave"),
        set_distributor("usd_issuer", nonce("usd_issuer") + 1, "USD", "dave"),
        set_policy("usd_issuer", nonce("usd_issuer") + 2, "USD", 1_000_000, 0, False),
        set_frozen("usd_issuer", nonce("usd_issuer") + 3, "USD", "carol"),
        set_frozen("usd_issuer", nonce("usd_issuer") + 4, "USD", "carol", False),
    )
    assert currency(state, "USD").paused
    apply_ok(state, set_paused("usd_issuer", nonce("usd_issuer"), "USD", False))
    apply_ok(
        state,
        transfer("alice", 0, "bob", "USD", 1),
        mint("usd_issuer", nonce("usd_issuer"), "dave", "USD", 5),
        burn("bob", 0, "USD", 1),
    )
    assert state.get_balance(BOB, "USD") == 200_000 and state.get_balance(DAVE, "USD") == 5


def test_pausing_twice_and_resuming_an_unpaused_currency_are_accepted_no_ops(state: State) -> None:
    apply_ok(state, set_paused("usd_issuer", 0, "USD", False))
    assert not currency(state, "USD").paused
    apply_ok(state, set_paused("usd_issuer", 1, "USD", True), set_paused("usd_issuer", 2, "USD", True))
    assert currency(state, "USD").paused


def test_clawback_is_refused_while_the_currency_is_paused(state: State) -> None:
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "alice"), set_paused("usd_issuer", 1, "USD"))
    assert_refused(state, clawback("usd_issuer", 2, "USD", "alice", 1_000), Refusal.CURRENCY_PAUSED)


# ---------------------------------------------------------------------------------------------------------
# sender_frozen / recipient_frozen


def test_a_frozen_account_can_neither_send_nor_burn_nor_receive(state: State) -> None:
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "alice"))
    assert_refused(state, transfer("alice", 0, "bob", "USD", 1), Refusal.SENDER_FROZEN)
    assert_refused(state, transfer("alice", 0, "usd_issuer", "USD", 1), Refusal.SENDER_FROZEN)  # not even to the issuer
    assert_refused(state, burn("alice", 0, "USD", 1), Refusal.SENDER_FROZEN)
    assert_refused(state, transfer("bob", 0, "alice", "USD", 1), Refusal.RECIPIENT_FROZEN)
    assert_refused(state, mint("usd_issuer", 1, "alice", "USD", 1), Refusal.RECIPIENT_FROZEN)
    # The freeze is per currency: alice's JPY still moves both ways.
    apply_ok(state, transfer("alice", 0, "carol", "JPY", 7), transfer("carol", 0, "alice", "JPY", 7), burn("alice", 1, "JPY", 1))


def test_frozen_is_checked_before_funds_and_limits(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", 10), set_frozen("usd_issuer", 1, "USD", "dave"))
    assert_refused(state, transfer("dave", 0, "bob", "USD", 1_000), Refusal.SENDER_FROZEN)  # dave holds nothing; above cap
    assert_refused(state, transfer("alice", 0, "dave", "USD", 1_000), Refusal.RECIPIENT_FROZEN)  # above the cap too


def test_unfreeze_restores_sending_and_receiving(state: State) -> None:
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "bob"))
    assert_refused(state, transfer("bob", 0, "alice", "USD", 1), Refusal.SENDER_FROZEN)
    apply_ok(state, set_frozen("usd_issuer", 1, "USD", "bob", False))
    apply_ok(state, transfer("bob", 0, "alice", "USD", 1), transfer("alice", 0, "bob", "USD", 2), mint("usd_issuer", 2, "bob", "USD", 3),
             burn("bob", 1, "USD", 4))
    assert state.get_balance(BOB, "USD") == 200_000


def test_the_issuer_is_never_frozen_for_its_own_currency(state: State) -> None:
    # Documented in refusal_to_send: "The issuer is never frozen or unauthorised"; trying is refused.
    apply_ok(state, mint("usd_issuer", 0, "usd_issuer", "USD", 100))
    assert_refused(state, set_frozen("usd_issuer", 1, "USD", "usd_issuer"), Refusal.ISSUER_ACCOUNT)
    assert_refused(state, set_authorization("usd_issuer", 1, "USD", "usd_issuer", False), Refusal.ISSUER_ACCOUNT)
    assert_refused(state, clawback("usd_issuer", 1, "USD", "usd_issuer", 1), Refusal.ISSUER_ACCOUNT)
    apply_ok(state, transfer("usd_issuer", 1, "bob", "USD", 10), transfer("bob", 0, "usd_issuer", "USD", 5), burn("usd_issuer", 2, "USD", 5))
    assert state.get_balance(USD_ISSUER, "USD") == 90


def test_another_issuer_can_be_frozen_in_a_currency_it_does_not_issue(state: State) -> None:
    apply_ok(state, transfer("alice", 0, "jpy_issuer", "USD", 10), set_frozen("usd_issuer", 0, "USD", "jpy_issuer"))
    assert_refused(state, transfer("jpy_issuer", 0, "bob", "USD", 1), Refusal.SENDER_FROZEN)


# ---------------------------------------------------------------------------------------------------------
# sender_not_authorized / recipient_not_authorized (allow-list currency from genesis)


def test_genesis_reads_holders_need_authorization() -> None:
    genesis = allow_list_genesis("USD")
    flags = {c.code: c.holders_need_authorization for c in genesis.currencies}
    assert flags == {"USD": True, "JPY": False}
    assert genesis.hash != allow_list_genesis().hash
    document = genesis_document()
    document["currencies"][0]["holders_need_authorization"] = 1
    with pytest.raises(GenesisError, match="holders_need_authorization"):
        parse_genesis(document)
    document["currencies"][0]["holders_need_authorization"] = False
    assert parse_genesis(document).currencies[0].holders_need_authorization is False


def test_allow_list_refuses_unauthorized_senders_and_recipients(allow_state: State) -> None:
    state = allow_state
    # alice and bob got USD at genesis, but nobody is authorised yet.
    assert_refused(state, transfer("alice", 0, "bob", "USD", 1), Refusal.SENDER_NOT_AUTHORIZED)
    assert_refused(state, burn("bob", 0, "USD", 1), Refusal.SENDER_NOT_AUTHORIZED)
    assert_refused(state, mint("usd_issuer", 0, "dave", "USD", 1), Refusal.RECIPIENT_NOT_AUTHORIZED)
    apply_ok(state, set_authorization("usd_issuer", 0, "USD", "alice"))
    assert_refused(state, transfer("alice", 0, "bob", "USD", 1), Refusal.RECIPIENT_NOT_AUTHORIZED)
    apply_ok(state, set_authorization("usd_issuer", 1, "USD", "bob"))
    apply_ok(state, transfer("alice", 0, "bob", "USD", 1), transfer("bob", 0, "alice", "USD", 1), burn("bob", 1, "USD", 1))
    apply_ok(state, set_authorization("usd_issuer", 2, "USD", "dave"), mint("usd_issuer", 3, "dave", "USD", 50))
    assert state.get_balance(DAVE, "USD") == 50
    # The open currency (JPY) needs no authorisation.
    apply_ok(state, transfer("carol", 0, "dave", "JPY", 1))


def test_allow_list_exempts_the_issuer(allow_state: State) -> None:
    state = allow_state
    apply_ok(state, mint("usd_issuer", 0, "usd_issuer", "USD", 100), burn("usd_issuer", 1, "USD", 10))
    apply_ok(state, set_authorization("usd_issuer", 2, "USD", "alice"))
    apply_ok(state, transfer("usd_issuer", 3, "alice", "USD", 40), transfer("alice", 0, "usd_issuer", "USD", 30))
    assert state.get_balance(USD_ISSUER, "USD") == 80
    # The issuer is exempt, but its counterparty is not.
    assert_refused(state, transfer("usd_issuer", 4, "bob", "USD", 1), Refusal.RECIPIENT_NOT_AUTHORIZED)
    assert_refused(state, transfer("bob", 0, "usd_issuer", "USD", 1), Refusal.SENDER_NOT_AUTHORIZED)


def test_deauthorization_takes_effect_at_once(allow_state: State) -> None:
    state = allow_state
    apply_ok(state, set_authorization("usd_issuer", 0, "USD", "alice"), set_authorization("usd_issuer", 1, "USD", "bob"))
    apply_ok(state, transfer("alice", 0, "bob", "USD", 5))
    apply_ok(state, set_authorization("usd_issuer", 2, "USD", "bob", False))
    assert_refused(state, transfer("alice", 1, "bob", "USD", 5), Refusal.RECIPIENT_NOT_AUTHORIZED)
    assert_refused(state, transfer("bob", 0, "alice", "USD", 5), Refusal.SENDER_NOT_AUTHORIZED)
    assert_refused(state, burn("bob", 0, "USD", 5), Refusal.SENDER_NOT_AUTHORIZED)


def test_frozen_is_reported_before_not_authorized(allow_state: State) -> None:
    state = allow_state
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "alice"), set_authorization("usd_issuer", 1, "USD", "bob"))
    assert_refused(state, transfer("alice", 0, "bob", "USD", 1), Refusal.SENDER_FROZEN)
    assert_refused(state, transfer("bob", 0, "alice", "USD", 1), Refusal.RECIPIENT_FROZEN)


def test_paused_is_reported_before_frozen_and_not_authorized(allow_state: State) -> None:
    state = allow_state
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "alice"), set_paused("usd_issuer", 1, "USD"))
    assert_refused(state, transfer("alice", 0, "bob", "USD", 1), Refusal.CURRENCY_PAUSED)
    assert_refused(state, transfer("bob", 0, "alice", "USD", 1), Refusal.CURRENCY_PAUSED)


def test_clawback_works_on_an_unauthorized_frozen_holder(allow_state: State) -> None:
    state = allow_state
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "bob"), clawback("usd_issuer", 1, "USD", "bob", 200_000))
    assert state.get_balance(BOB, "USD") == 0 and state.get_balance(USD_ISSUER, "USD") == 200_000
    assert currency(state, "USD").supply_minor == USD_SUPPLY


# ---------------------------------------------------------------------------------------------------------
# exceeds_transfer_limit


def test_payment_cap_accepts_exactly_the_cap_and_refuses_one_more(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", transfer_max_minor=10_000))
    apply_ok(state, transfer("alice", 0, "bob", "USD", 10_000))
    assert_refused(state, transfer("alice", 1, "bob", "USD", 10_001), Refusal.EXCEEDS_TRANSFER_LIMIT)
    # The cap is checked before funds: dave holds nothing and is told about the cap.
    assert_refused(state, transfer("dave", 0, "bob", "USD", 10_001), Refusal.EXCEEDS_TRANSFER_LIMIT)
    # The issuer's own payments are capped too; the other currency is not.
    apply_ok(state, mint("usd_issuer", 1, "usd_issuer", "USD", 20_000))
    assert_refused(state, transfer("usd_issuer", 2, "bob", "USD", 10_001), Refusal.EXCEEDS_TRANSFER_LIMIT)
    apply_ok(state, transfer("alice", 1, "carol", "JPY", 900_000))


def test_payment_cap_limits_payments_not_mints_or_burns(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", transfer_max_minor=100))
    apply_ok(state, mint("usd_issuer", 1, "dave", "USD", 5_000), burn("alice", 0, "USD", 5_000))


def test_payment_cap_of_zero_means_no_cap_and_lifting_it_takes_effect_at_once(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", transfer_max_minor=1))
    assert_refused(state, transfer("alice", 0, "bob", "USD", 2), Refusal.EXCEEDS_TRANSFER_LIMIT)
    apply_ok(state, set_policy("usd_issuer", 1, "USD", transfer_max_minor=0))
    apply_ok(state, transfer("alice", 0, "bob", "USD", 500_000))


# ---------------------------------------------------------------------------------------------------------
# travel_rule_required


def test_travel_rule_threshold(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", travel_rule_threshold_minor=5_000))
    apply_ok(state, transfer_tr("alice", 0, "bob", "USD", 5_000))  # at the threshold: no hash needed
    assert_refused(state, transfer_tr("alice", 1, "bob", "USD", 5_001), Refusal.TRAVEL_RULE_REQUIRED)
    [outcome] = apply_ok(state, transfer_tr("alice", 1, "bob", "USD", 5_001, TRAVEL_HASH))
    assert outcome.events == ({"kind": "transfer", "currency": "USD", "from": ALICE, "to": BOB, "amount_minor": 5_001},)
    assert state.get_balance(BOB, "USD") == 200_000 + 10_001
    # A hash below the threshold is fine too; the other currency has no threshold.
    apply_ok(state, transfer_tr("alice", 2, "bob", "USD", 1, TRAVEL_HASH), transfer_tr("alice", 3, "carol", "JPY", 900_000))


def test_travel_rule_is_checked_after_the_cap_and_before_funds(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", transfer_max_minor=9_000, travel_rule_threshold_minor=5_000))
    assert_refused(state, transfer_tr("alice", 0, "bob", "USD", 9_001), Refusal.EXCEEDS_TRANSFER_LIMIT)
    assert_refused(state, transfer_tr("dave", 0, "bob", "USD", 6_000), Refusal.TRAVEL_RULE_REQUIRED)
    assert_refused(state, transfer_tr("dave", 0, "bob", "USD", 6_000, TRAVEL_HASH), Refusal.INSUFFICIENT_FUNDS)


def test_travel_rule_threshold_of_zero_never_requires_a_hash(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", transfer_max_minor=0, travel_rule_threshold_minor=0))
    apply_ok(state, transfer_tr("alice", 0, "bob", "USD", 500_000))


# ---------------------------------------------------------------------------------------------------------
# account_not_frozen and insufficient_funds for a clawback


def test_clawback_needs_the_account_frozen(state: State) -> None:
    assert_refused(state, clawback("usd_issuer", 0, "USD", "alice", 1), Refusal.ACCOUNT_NOT_FROZEN)
    # Frozen in another currency does not count.
    apply_ok(state, set_frozen("jpy_issuer", 0, "JPY", "alice"))
    assert_refused(state, clawback("usd_issuer", 0, "USD", "alice", 1), Refusal.ACCOUNT_NOT_FROZEN)
    # Once unfrozen again, no more clawback.
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "alice"), clawback("usd_issuer", 1, "USD", "alice", 1))
    apply_ok(state, set_frozen("usd_issuer", 2, "USD", "alice", False))
    assert_refused(state, clawback("usd_issuer", 3, "USD", "alice", 1), Refusal.ACCOUNT_NOT_FROZEN)


def test_clawback_above_the_balance_is_refused_insufficient_funds(state: State) -> None:
    apply_ok(state, set_frozen("usd_issuer", 0, "USD", "bob"), set_frozen("usd_issuer", 1, "USD", "dave"))
    assert_refused(state, clawback("usd_issuer", 2, "USD", "bob", 200_001), Refusal.INSUFFICIENT_FUNDS)
    assert_refused(state, clawback("usd_issuer", 2, "USD", "dave", 1), Refusal.INSUFFICIENT_FUNDS)
    apply_ok(state, clawback("usd_issuer", 2, "USD", "bob", 200_000))  # exactly the balance is fine


def test_clawback_of_an_unfrozen_account_is_refused_before_the_funds_check(state: State) -> None:
    assert_refused(state, clawback("usd_issuer", 0, "USD", "dave", 10**9), Refusal.ACCOUNT_NOT_FROZEN)


# ---------------------------------------------------------------------------------------------------------
# not_distributor


def test_distributors_only_limits_mint_recipients_and_redeemers(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", distributors_only=True))
    assert_refused(state, mint("usd_issuer", 1, "alice", "USD", 100), Refusal.NOT_DISTRIBUTOR)
    assert_refused(state, burn("alice", 0, "USD", 100), Refusal.NOT_DISTRIBUTOR)
    # A licensed distributor receives new coins and redeems.
    apply_ok(state, set_distributor("usd_issuer", 1, "USD", "bob"))
    apply_ok(state, mint("usd_issuer", 2, "bob", "USD", 100), burn("bob", 0, "USD", 300))
    assert state.get_balance(BOB, "USD") == 200_000 - 200
    # The issuer itself is always allowed.
    apply_ok(state, mint("usd_issuer", 3, "usd_issuer", "USD", 50), burn("usd_issuer", 4, "USD", 50))
    # Payments between holders are not restricted by the distribution model.
    apply_ok(state, transfer("alice", 0, "carol", "USD", 10), transfer("carol", 0, "bob", "USD", 10))
    # The other currency is open.
    apply_ok(state, mint("jpy_issuer", 0, "dave", "JPY", 1), burn("dave", 0, "JPY", 1))


def test_revoking_a_distributor_takes_effect_at_once(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", distributors_only=True), set_distributor("usd_issuer", 1, "USD", "bob"))
    apply_ok(state, mint("usd_issuer", 2, "bob", "USD", 100))
    apply_ok(state, set_distributor("usd_issuer", 3, "USD", "bob", False))
    assert_refused(state, mint("usd_issuer", 4, "bob", "USD", 100), Refusal.NOT_DISTRIBUTOR)
    assert_refused(state, burn("bob", 0, "USD", 100), Refusal.NOT_DISTRIBUTOR)


def test_licence_matters_only_under_distributors_only(state: State) -> None:
    apply_ok(state, set_distributor("usd_issuer", 0, "USD", "bob"))
    apply_ok(state, mint("usd_issuer", 1, "alice", "USD", 1), burn("alice", 0, "USD", 1))
    apply_ok(state, set_policy("usd_issuer", 2, "USD", distributors_only=True))
    assert_refused(state, mint("usd_issuer", 3, "alice", "USD", 1), Refusal.NOT_DISTRIBUTOR)
    apply_ok(state, set_policy("usd_issuer", 3, "USD", distributors_only=False))
    apply_ok(state, mint("usd_issuer", 4, "alice", "USD", 1))


def test_a_licence_is_per_currency(state: State) -> None:
    apply_ok(state, set_policy("jpy_issuer", 0, "JPY", distributors_only=True), set_distributor("usd_issuer", 0, "USD", "carol"))
    assert_refused(state, burn("carol", 0, "JPY", 1), Refusal.NOT_DISTRIBUTOR)


def test_frozen_distributor_is_refused_as_frozen(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", distributors_only=True), set_distributor("usd_issuer", 1, "USD", "bob"),
             set_frozen("usd_issuer", 2, "USD", "bob"))
    assert_refused(state, mint("usd_issuer", 3, "bob", "USD", 1), Refusal.RECIPIENT_FROZEN)
    assert_refused(state, burn("bob", 0, "USD", 1), Refusal.SENDER_FROZEN)


def test_not_distributor_is_checked_before_the_reserve_and_the_funds(state: State) -> None:
    apply_ok(state, set_policy("usd_issuer", 0, "USD", distributors_only=True))
    assert_refused(state, mint("usd_issuer", 1, "dave", "USD", USD_RESERVE_MINOR), Refusal.NOT_DISTRIBUTOR)
    assert_refused(state, burn("dave", 0, "USD", 1), Refusal.NOT_DISTRIBUTOR)


# ---------------------------------------------------------------------------------------------------------
# Decoding of the new fields

SAMPLES: dict[str, SignedTx] = {
    "set_authorization": set_authorization("usd_issuer", 3, "USD", "alice", True),
    "set_frozen": set_frozen("usd_issuer", 4, "USD", "bob", False),
    "clawback": clawback("usd_issuer", 5, "USD", "bob", 77),
    "set_paused": set_paused("jpy_issuer", 6, "JPY", True),
    "set_distributor": set_distributor("jpy_issuer", 7, "JPY", "carol", True),
    "set_policy": set_policy("jpy_issuer", 8, "JPY", 1_000, 500, True),
    "transfer_with_travel_rule": transfer_tr("alice", 0, "bob", "USD", 9, TRAVEL_HASH),
}

BOOL_FIELDS = [
    ("set_authorization", "enabled"),
    ("set_frozen", "enabled"),
    ("set_paused", "enabled"),
    ("set_distributor", "enabled"),
    ("set_policy", "distributors_only"),
]


def refusal_of(raw: bytes) -> Refusal:
    with pytest.raises(TxError) as caught:
        decode_tx(raw)
    return caught.value.refusal


def with_body(sample: str, **changes: Any) -> bytes:
    document = copy.deepcopy(tx_document(SAMPLES[sample]))
    for name, value in changes.items():
        if value is DELETE:
            del document["body"][name]
        else:
            document["body"][name] = value
    return codec.encode(document)


DELETE = object()


@pytest.mark.parametrize("tx", SAMPLES.values(), ids=SAMPLES.keys())
def test_control_transactions_decode_to_themselves_and_verify(tx: SignedTx) -> None:
    decoded = decode_tx(tx.raw)
    assert decoded == tx
    assert signatures_valid(decoded, CHAIN_ID)


@pytest.mark.parametrize(("sample", "name"), BOOL_FIELDS)
@pytest.mark.parametrize("value", [0, 1, None, "true", b"\x01"])
def test_bool_fields_refuse_anything_but_true_or_false(sample: str, name: str, value: Any) -> None:
    assert refusal_of(with_body(sample, **{name: value})) == Refusal.BAD_FIELD
    with pytest.raises(TxError, match=name):
        build_body(sample, {**tx_document(SAMPLES[sample])["body"], name: value})


@pytest.mark.parametrize(("sample", "name"), BOOL_FIELDS)
@pytest.mark.parametrize("value", [True, False])
def test_bool_fields_accept_true_and_false(sample: str, name: str, value: bool) -> None:
    # The signature no longer matches the changed body, but the bytes decode.
    assert getattr(decode_tx(with_body(sample, **{name: value})).body, name) is value


@pytest.mark.parametrize("value", [bytes(31), bytes(33), bytes(64), "ab" * 32, None, 0])
def test_travel_rule_hash_is_empty_or_exactly_32_bytes(value: Any) -> None:
    assert refusal_of(with_body("transfer_with_travel_rule", travel_rule_hash=value)) == Refusal.BAD_FIELD


@pytest.mark.parametrize("value", [b"", bytes(32)])
def test_travel_rule_hash_accepts_empty_and_32_bytes(value: bytes) -> None:
    assert decode_tx(with_body("transfer_with_travel_rule", travel_rule_hash=value)).body.travel_rule_hash == value


def test_travel_rule_hash_must_be_present_in_wire_bytes_but_defaults_when_a_client_builds_a_body() -> None:
    assert refusal_of(with_body("transfer_with_travel_rule", travel_rule_hash=DELETE)) == Refusal.BAD_FIELD
    body = build_body("transfer", {"signer": KEYS["alice"].public_key, "nonce": 0, "to": BOB, "currency": "USD", "amount_minor": 1})
    assert isinstance(body, Transfer) and body.travel_rule_hash == b"" and body.memo == ""


@pytest.mark.parametrize("sample", ["set_frozen", "clawback"])
@pytest.mark.parametrize("value", [b"", bytes(31), bytes(33), "ab" * 32, None])
def test_reason_hash_must_be_exactly_32_bytes(sample: str, value: Any) -> None:
    assert refusal_of(with_body(sample, reason_hash=value)) == Refusal.BAD_FIELD


@pytest.mark.parametrize("sample", ["set_authorization", "set_frozen", "clawback", "set_distributor"])
@pytest.mark.parametrize("value", [bytes(19), bytes(21), "cor1" + "q" * 38, None])
def test_account_must_be_a_20_byte_address(sample: str, value: Any) -> None:
    assert refusal_of(with_body(sample, account=value)) == Refusal.BAD_FIELD


@pytest.mark.parametrize(
    ("name", "value"),
    [("transfer_max_minor", -1), ("transfer_max_minor", True), ("transfer_max_minor", "10"),
     ("travel_rule_threshold_minor", -1), ("travel_rule_threshold_minor", None), ("transfer_max_minor", 2**64 - 1)],
)
def test_policy_amounts_are_non_negative_integers(name: str, value: Any) -> None:
    assert refusal_of(with_body("set_policy", **{name: value})) == Refusal.BAD_FIELD


@pytest.mark.parametrize("value", [0, -5, True])
def test_clawback_amount_is_positive(value: Any) -> None:
    assert refusal_of(with_body("clawback", amount_minor=value)) == Refusal.BAD_FIELD


@pytest.mark.parametrize("sample", ["set_authorization", "set_frozen", "clawback", "set_paused", "set_distributor", "set_policy"])
def test_control_bodies_refuse_missing_and_unknown_fields(sample: str) -> None:
    assert refusal_of(with_body(sample, currency=DELETE)) == Refusal.BAD_FIELD
    assert refusal_of(with_body(sample, extra=1)) == Refusal.BAD_FIELD


def test_a_control_signature_is_bound_to_its_type() -> None:
    # set_authorization and set_distributor have the same fields: relabelled, the bytes decode but do not verify.
    document = tx_document(SAMPLES["set_authorization"])
    document["type"] = "set_distributor"
    relabelled = decode_tx(codec.encode(document))
    assert isinstance(relabelled.body, SetDistributor)
    assert not signatures_valid(relabelled, CHAIN_ID)


def test_json_view_of_the_controls_shows_addresses_and_hex() -> None:
    shown = tx_to_json(SAMPLES["clawback"])
    assert shown["type"] == "clawback"
    assert shown["body"]["account"] == address_text("bob")
    assert shown["body"]["reason_hash"] == SAMPLES["clawback"].body.reason_hash.hex()
    assert tx_to_json(SAMPLES["set_policy"])["body"]["distributors_only"] is True
    assert tx_to_json(SAMPLES["transfer_with_travel_rule"])["body"]["travel_rule_hash"] == TRAVEL_HASH.hex()
    assert tx_to_json(transfer("alice", 0, "bob", "USD", 1))["body"]["travel_rule_hash"] == ""


def test_every_control_type_is_registered() -> None:
    from corridor.ledger.tx import TX_TYPES

    for cls in (SetAuthorization, SetFrozen, Clawback, SetPaused, SetDistributor, SetPolicy):
        assert TX_TYPES[cls.TYPE] is cls
