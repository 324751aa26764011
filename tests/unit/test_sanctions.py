"""The consortium sanctions list (ledger/sanctions.py): `gov_set_sanctioned` accepted with its exact record and
events, each of its refusals (`already_sanctioned`, `not_sanctioned`, no quorum, a stale nonce), and a listed
account refused `account_sanctioned` by every movement on either side (transfers, mints, burns, swaps, offers,
payments, clawbacks into a listed issuer), with nothing written. Listing cancels resting offers, their funds
returning to the listed (frozen) balance; beyond the per-listing bound they stay, untradable, until a walk of
the book or their owner removes them. Delisting restores everything. Then decoding, and one committed block.

Genesis (unit_support): alice 5,000.00 USD and 1,000,000 JPY, bob 2,000.00 USD, carol 30,000 JPY, dave nothing;
one validator of power 1, whose signature alone is a governance quorum.
"""

from __future__ import annotations

from typing import Callable

import pytest

from corridor import codec
from corridor.hashing import sha256
from corridor.keys import format_address
from corridor.ledger import fx, governance, limits, sanctions
from corridor.ledger.refusals import Refusal
from corridor.ledger.sanctions import Sanction
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import (
    Burn,
    Clawback,
    Mint,
    OfferCancel,
    OfferCreate,
    Pay,
    SetFrozen,
    SetPaused,
    SignedTx,
    Transfer,
    TxError,
    build_body,
    decode_tx,
    is_governance,
    signatures_valid,
    tx_to_json,
)

from fx_support import REASON, Desk, Unchanged, events_of, fx_state, kinds, locked
from sanctions_support import ORDER, sanction
from unit_support import ADDRESSES, CHAIN_ID, KEYS, commit, recompute_state_hash, transfer

CODES = ("USD", "JPY")


def conserved(state: State) -> bool:
    """supply == every balance + the amounts locked in offers, for every currency."""
    held = {code: 0 for code in CODES}
    for key, value in state.iterate(b"b/"):
        held[key[23:].decode()] += value
    return all(state.get_currency(code).supply_minor == held[code] + locked(state, code) for code in CODES)


def holdings(state: State, name: str, code: str) -> int:
    """What `name` owns of `code`: its balance plus what its resting offers lock."""
    owner = ADDRESSES[name]
    return state.get_balance(owner, code) + sum(o.remaining_minor for o in fx.offers_of(state, owner) if o.sell_currency == code)


def listed(desk: Desk, name: str, height: int = 1) -> tuple:
    """The events of listing `name`, but its closing `lawful_order` record (ledger/orders.py), checked here."""
    outcome = desk.apply(sanction(desk.state, desk.address(name)), height)
    assert outcome.applied, outcome.refusal
    assert outcome.events[-1] == order_record(desk.address(name))
    return outcome.events[:-1]


def order_record(account: bytes) -> dict:
    """The `lawful_order` record a listing with sanctions_support's default order ends with."""
    return {"kind": "lawful_order", "action": "sanction", "currency": "", "account": account, "amount_minor": 0,
            "authority": "OFAC", "order_hash": ORDER, "order_expiry_ms": 0, "approvers": [], "approvals_required": 0,
            "approved_by": "governance"}


def refused_unchanged(desk: Desk, tx: SignedTx, refusal: Refusal) -> None:
    with Unchanged(desk.state):
        outcome = desk.apply(tx)
        assert outcome.refusal == refusal, (tx.body.TYPE, outcome)
        assert outcome.events == ()


# listing and delisting ----------------------------------------------------------------------------------


def test_listing_records_the_account_and_delisting_deletes_the_record() -> None:
    desk = Desk(fx_state())
    alice = desk.address("alice")
    outcome = desk.apply(sanction(desk.state, alice), height=3)
    assert outcome.applied, outcome.refusal
    assert outcome.events == ({"kind": "sanctioned", "account": alice, "reason_hash": ORDER, "offers_removed": 0,
                               "offers_remaining": False}, order_record(alice))
    assert sanctions.is_sanctioned(desk.state, alice) and not sanctions.is_sanctioned(desk.state, desk.address("bob"))
    assert sanctions.get_sanction(desk.state, alice) == Sanction(alice, 3, ORDER)
    assert sanctions.sanctions_in(desk.state) == [Sanction(alice, 3, ORDER)]
    assert sanctions.sanction_to_json(Sanction(alice, 3, ORDER)) == {"account": format_address(alice), "height": 3,
                                                                     "reason_hash": ORDER.hex()}
    assert governance.get_gov_nonce(desk.state) == 1
    assert dict(desk.state.changes())[b"s/" + alice] == codec.encode({"height": 3, "reason_hash": ORDER})
    # Listing moves nothing: the balances stay where they are, frozen.
    assert (desk.balance("alice", "USD"), desk.balance("alice", "JPY")) == (500_000, 1_000_000)
    assert desk.state.get_nonce(alice) == 0

    lifted = sha256(b"delisting order")
    outcome = desk.apply(sanction(desk.state, alice, listed=False, reason_hash=lifted), height=4)
    assert outcome.applied, outcome.refusal
    assert outcome.events == ({"kind": "unsanctioned", "account": alice, "reason_hash": lifted},)
    assert not sanctions.is_sanctioned(desk.state, alice) and sanctions.sanctions_in(desk.state) == []
    assert dict(desk.state.changes())[b"s/" + alice] is None  # deleted, never stored empty
    assert governance.get_gov_nonce(desk.state) == 2


def test_the_listed_count_follows_the_list_and_an_empty_list_leaves_no_record() -> None:
    """is_sanctioned answers from one cached count while the list is empty: the count must match it."""
    desk = Desk(fx_state())
    alice, bob = desk.address("alice"), desk.address("bob")
    listed(desk, "alice")
    listed(desk, "bob")
    assert desk.state.get_record(sanctions.SANCTIONED_COUNT_KEY) == 2
    assert desk.apply(sanction(desk.state, alice, listed=False)).applied
    assert desk.state.get_record(sanctions.SANCTIONED_COUNT_KEY) == 1
    assert sanctions.is_sanctioned(desk.state, bob) and not sanctions.is_sanctioned(desk.state, alice)
    assert desk.apply(sanction(desk.state, bob, listed=False)).applied
    assert dict(desk.state.changes())[sanctions.SANCTIONED_COUNT_KEY] is None
    assert not sanctions.is_sanctioned(desk.state, bob)


def test_listing_twice_and_delisting_an_unlisted_account_are_refused() -> None:
    desk = Desk(fx_state())
    alice = desk.address("alice")
    refused_unchanged(desk, sanction(desk.state, alice, listed=False), Refusal.NOT_SANCTIONED)
    listed(desk, "alice")
    refused_unchanged(desk, sanction(desk.state, alice, reason_hash=sha256(b"another order")), Refusal.ALREADY_SANCTIONED)
    assert sanctions.get_sanction(desk.state, alice).reason_hash == ORDER  # the first listing stands


def test_listing_needs_the_validators_quorum_and_the_governance_nonce() -> None:
    desk = Desk(fx_state())
    alice = desk.address("alice")
    # Signed by someone holding no voting power: no quorum.
    refused_unchanged(desk, sanction(desk.state, alice, signers=(KEYS["bob"],)), Refusal.GOVERNANCE_QUORUM_MISSING)
    refused_unchanged(desk, sanction(desk.state, alice, nonce=1), Refusal.BAD_NONCE)
    # An account's own nonce is not the governance nonce.
    desk.ok("alice", Transfer, to=desk.address("bob"), currency="USD", amount_minor=1, memo="")
    refused_unchanged(desk, sanction(desk.state, alice, nonce=governance.get_gov_nonce(desk.state) + 1), Refusal.BAD_NONCE)
    assert desk.apply(sanction(desk.state, alice)).applied


# every movement of a listed account, either side ---------------------------------------------------------


def _pay(desk: Desk, name: str, to: str) -> SignedTx:
    return desk.sign(name, Pay, to=desk.address(to), send_currency="USD", send_max_minor=10_000, receive_currency="JPY",
                     receive_amount_minor=100, memo="", travel_rule_hash=b"")


MOVES: dict[str, tuple[str, Callable[[Desk], SignedTx]]] = {  # the account listed, and the transaction refused
    "transfer_from_it": ("bob", lambda d: d.sign("bob", Transfer, to=d.address("alice"), currency="USD", amount_minor=1, memo="")),
    "transfer_to_it": ("bob", lambda d: d.sign("alice", Transfer, to=d.address("bob"), currency="USD", amount_minor=1, memo="")),
    "transfer_to_it_in_a_currency_it_never_held": (
        "dave", lambda d: d.sign("carol", Transfer, to=d.address("dave"), currency="JPY", amount_minor=1, memo="")),
    "mint_to_it": ("bob", lambda d: d.sign("usd_issuer", Mint, to=d.address("bob"), currency="USD", amount_minor=1)),
    "burn_by_it": ("bob", lambda d: d.sign("bob", Burn, currency="USD", amount_minor=1)),
    "mint_by_a_listed_issuer": ("usd_issuer", lambda d: d.sign("usd_issuer", Mint, to=d.address("alice"), currency="USD", amount_minor=1)),
    "transfer_to_a_listed_issuer": (
        "usd_issuer", lambda d: d.sign("alice", Transfer, to=d.address("usd_issuer"), currency="USD", amount_minor=1, memo="")),
    "swap_it_gives": ("alice", lambda d: d.swap("alice", "carol", "USD", 100, "JPY", 100)),
    "swap_it_is_the_counterparty": ("carol", lambda d: d.swap("alice", "carol", "USD", 100, "JPY", 100)),
    "swap_it_gets_back": ("alice", lambda d: d.swap("carol", "alice", "JPY", 100, "USD", 100)),
    "pay_from_it": ("alice", lambda d: _pay(d, "alice", "carol")),
    "pay_to_it": ("carol", lambda d: _pay(d, "alice", "carol")),
    "offer_selling": ("alice", lambda d: d.sign("alice", OfferCreate, sell_currency="USD", sell_amount_minor=100,
                                                 buy_currency="JPY", price_num=1, price_den=1)),
    "offer_buying": ("alice", lambda d: d.sign("alice", OfferCreate, sell_currency="JPY", sell_amount_minor=100,
                                                buy_currency="USD", price_num=1, price_den=1)),
}


@pytest.mark.parametrize("case", MOVES, ids=MOVES)
def test_a_listed_account_can_neither_send_nor_receive_nor_trade(case: str) -> None:
    name, make = MOVES[case]
    desk = Desk(fx_state())
    listed(desk, name)
    refused_unchanged(desk, make(desk), Refusal.ACCOUNT_SANCTIONED)


def test_sanctions_come_before_every_other_holder_refusal() -> None:
    desk = Desk(fx_state())
    desk.freeze("USD", "bob")
    desk.pause("JPY")
    listed(desk, "bob")
    refused_unchanged(desk, desk.sign("bob", Transfer, to=desk.address("alice"), currency="USD", amount_minor=1, memo=""),
                      Refusal.ACCOUNT_SANCTIONED)
    refused_unchanged(desk, desk.sign("alice", Transfer, to=desk.address("bob"), currency="USD", amount_minor=1, memo=""),
                      Refusal.ACCOUNT_SANCTIONED)
    refused_unchanged(desk, desk.sign("jpy_issuer", Mint, to=desk.address("bob"), currency="JPY", amount_minor=1), Refusal.ACCOUNT_SANCTIONED)


def test_a_listed_issuer_keeps_the_controls_that_move_no_money_but_not_clawback_into_its_account() -> None:
    desk = Desk(fx_state())
    listed(desk, "usd_issuer")
    desk.freeze("USD", "bob")  # freezes, pauses and policy still work: they restrict, they move nothing
    refused_unchanged(desk, desk.sign("usd_issuer", Clawback, currency="USD", account=desk.address("bob"), amount_minor=1,
                                      reason_hash=REASON), Refusal.ACCOUNT_SANCTIONED)
    desk.pause("USD")
    desk.pause("USD", enabled=False)
    # Holders of its currency still pay each other: the listing binds the issuer's account, not the currency.
    desk.ok("alice", Transfer, to=desk.address("carol"), currency="USD", amount_minor=5, memo="")
    assert desk.balance("carol", "USD") == 5


def test_a_clawback_from_a_listed_account_frozen_by_its_issuer_is_a_seizure_and_still_works() -> None:
    desk = Desk(fx_state())
    listed(desk, "bob")
    desk.freeze("USD", "bob")
    outcome = desk.ok("usd_issuer", Clawback, currency="USD", account=desk.address("bob"), amount_minor=700, reason_hash=REASON)
    assert outcome.events[0]["kind"] == "clawback"
    assert desk.balance("bob", "USD") == 199_300 and desk.balance("usd_issuer", "USD") == 700
    assert conserved(desk.state)


# resting offers ------------------------------------------------------------------------------------------


def test_listing_cancels_its_resting_offers_and_their_funds_stay_frozen_with_it() -> None:
    desk = Desk(fx_state())
    dear = desk.placed("alice", "USD", 10_000, "JPY", 150, 1)  # 150 yen a cent
    cheap = desk.placed("alice", "JPY", 20_000, "USD", 1, 100)  # 1 cent per 100 yen: does not cross
    carols = desk.placed("carol", "JPY", 9_000, "USD", 1, 90)
    assert (desk.balance("alice", "USD"), desk.balance("alice", "JPY")) == (490_000, 980_000)

    events = listed(desk, "alice", height=7)
    alice = desk.address("alice")
    assert events == (
        {"kind": "sanctioned", "account": alice, "reason_hash": ORDER, "offers_removed": 2, "offers_remaining": False},
        {"kind": "offer_removed", "offer_id": dear, "account": alice, "currency": "USD", "refunded_minor": 10_000},
        {"kind": "offer_removed", "offer_id": cheap, "account": alice, "currency": "JPY", "refunded_minor": 20_000},
    )
    assert fx.offers_of(desk.state, alice) == []
    assert [o.id for o in fx.offers_of(desk.state, desk.address("carol"))] == [carols]
    assert (desk.balance("alice", "USD"), desk.balance("alice", "JPY")) == (500_000, 1_000_000)
    assert conserved(desk.state)
    # The refunded funds are as frozen as the rest.
    refused_unchanged(desk, desk.sign("alice", Transfer, to=desk.address("bob"), currency="USD", amount_minor=10_000, memo=""),
                      Refusal.ACCOUNT_SANCTIONED)
    refused_unchanged(desk, desk.sign("alice", OfferCancel, offer_id=dear), Refusal.UNKNOWN_OFFER)


def test_offers_beyond_the_bound_stay_untradable_until_a_walk_or_their_owner_removes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "SANCTION_OFFERS_REMOVED_MAX", 2)
    desk = Desk(fx_state())
    ids = [desk.placed("alice", "USD", 1_000, "JPY", 150 + i, 1) for i in range(4)]
    before = {code: holdings(desk.state, "alice", code) for code in CODES}

    events = listed(desk, "alice")
    assert events[0]["offers_removed"] == 2 and events[0]["offers_remaining"] is True
    assert [e["offer_id"] for e in events[1:]] == ids[:2]
    assert [o.id for o in fx.offers_of(desk.state, desk.address("alice"))] == ids[2:]

    # Its owner may still cancel one: the funds return to its frozen balance.
    cancelled = desk.ok("alice", OfferCancel, offer_id=ids[2])
    assert kinds(cancelled) == ["offer_removed"]
    # A crossing offer reaches the last one: the walk removes it and trades nothing with it.
    outcome = desk.offer("carol", "JPY", 15_300, "USD", 1, 153)
    assert outcome.applied, outcome.refusal
    assert [e["offer_id"] for e in events_of(outcome, "offer_removed")] == [ids[3]]
    assert events_of(outcome, "offer_filled") == []
    assert events_of(outcome, "offer_taken")[0]["bought_minor"] == 0
    assert fx.offers_of(desk.state, desk.address("alice")) == []
    assert {code: holdings(desk.state, "alice", code) for code in CODES} == before
    assert desk.balance("alice", "USD") == 500_000 and conserved(desk.state)


def test_a_payment_never_fills_from_an_offer_left_beyond_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "SANCTION_OFFERS_REMOVED_MAX", 0)
    desk = Desk(fx_state())
    offer_id = desk.placed("carol", "JPY", 10_000, "USD", 1, 100)
    events = listed(desk, "carol")
    assert events == ({"kind": "sanctioned", "account": desk.address("carol"), "reason_hash": ORDER, "offers_removed": 0,
                       "offers_remaining": True},)
    # bob's payment can only be filled from carol's offer: refused (the book is too thin without it), and the
    # walk's removal of the offer is thrown away with the refused payment's overlay.
    refused_unchanged(desk, _pay(desk, "bob", "dave"), Refusal.BOOK_TOO_THIN)
    assert fx.get_offer(desk.state, offer_id) is not None


# delisting restores -------------------------------------------------------------------------------------


def test_delisting_restores_sending_receiving_and_trading() -> None:
    desk = Desk(fx_state())
    listed(desk, "alice")
    assert desk.apply(sanction(desk.state, desk.address("alice"), listed=False)).applied
    desk.ok("alice", Transfer, to=desk.address("bob"), currency="USD", amount_minor=100, memo="")
    desk.ok("bob", Transfer, to=desk.address("alice"), currency="USD", amount_minor=40, memo="")
    desk.ok("usd_issuer", Mint, to=desk.address("alice"), currency="USD", amount_minor=10)
    desk.placed("alice", "USD", 1_000, "JPY", 150, 1)
    assert desk.balance("alice", "USD") == 500_000 - 100 + 40 + 10 - 1_000


# the transaction on the wire ------------------------------------------------------------------------------


def test_gov_set_sanctioned_decodes_strictly_and_shows_the_account_as_an_address() -> None:
    state = fx_state()
    tx = sanction(state, ADDRESSES["alice"])
    decoded = decode_tx(tx.raw)
    assert decoded == tx and is_governance(decoded.body) and signatures_valid(decoded, CHAIN_ID)
    assert decoded.signers() == (KEYS["validator"].public_key,)
    body = tx_to_json(tx)["body"]
    assert (body["account"], body["listed"], body["reason_hash"]) == (format_address(ADDRESSES["alice"]), True, ORDER.hex())
    good = {"signer": KEYS["validator"].public_key, "nonce": 0, "account": ADDRESSES["alice"], "listed": False, "reason_hash": ORDER}
    for field, bad in (("listed", 1), ("listed", None), ("reason_hash", ORDER[:31]), ("reason_hash", b""), ("account", bytes(19))):
        with pytest.raises(TxError) as caught:
            build_body("gov_set_sanctioned", {**good, field: bad})
        assert caught.value.refusal == Refusal.BAD_FIELD, (field, bad)
    with pytest.raises(TxError):
        build_body("gov_set_sanctioned", {key: value for key, value in good.items() if key != "reason_hash"})


def test_the_refusal_codes_are_stable() -> None:
    assert [(r.value, r.code) for r in (Refusal.ACCOUNT_SANCTIONED, Refusal.ALREADY_SANCTIONED, Refusal.NOT_SANCTIONED)] == [
        (37, "account_sanctioned"), (38, "already_sanctioned"), (39, "not_sanctioned")]
    assert "sanctions list" in Refusal.ACCOUNT_SANCTIONED.sentence


# one committed block ------------------------------------------------------------------------------------


def test_a_committed_listing_leaves_out_the_listed_accounts_transfer_and_the_root_stays_exact(store: Store) -> None:
    state = State(store)
    listing = sanction(state, ADDRESSES["bob"], nonce=0)
    from_bob = transfer("bob", 0, "alice", "USD", 5)
    to_bob = transfer("alice", 0, "bob", "USD", 5)
    executed, left_out = commit(store, [listing, from_bob, to_bob])
    assert [tx.hash for tx in executed.block.txs] == [listing.hash]
    assert [(item.tx.hash, item.refusal) for item in left_out] == [(from_bob.hash, Refusal.ACCOUNT_SANCTIONED),
                                                                   (to_bob.hash, Refusal.ACCOUNT_SANCTIONED)]
    assert executed.receipts[0].events[0]["kind"] == "sanctioned"
    committed = State(store)
    assert sanctions.sanctions_in(committed) == [Sanction(ADDRESSES["bob"], 1, ORDER)]
    assert store.tip.state_hash.to_bytes() == recompute_state_hash(store).to_bytes()
    assert list(store.governance_history()) == [(1, 0)]

    executed, _ = commit(store, [sanction(committed, ADDRESSES["bob"], listed=False), from_bob])
    assert len(executed.block.txs) == 2
    assert State(store).get_balance(ADDRESSES["bob"], "USD") == 199_995
    assert store.tip.state_hash.to_bytes() == recompute_state_hash(store).to_bytes()
