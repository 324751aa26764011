"""Reserves attested by an auditor, and minting bounded by them (docs/compliance.md, section 1).

Every currency names an auditor account besides its issuer: in the genesis file, in `gov_register_currency`,
and later through `gov_set_auditor`; the auditor is never the issuer. Only the auditor attests the reserve
(`attest_reserve`: the amount, the time the figure is as of, the hash of its report), so a stolen issuer key
alone can no longer raise the reserve and mint at will. An attestation whose as-of time is ahead of the
block time by more than RESERVE_AS_OF_DRIFT_MS_MAX, or older than the currency's latest one, is refused.

A mint is refused when supply would pass the latest attested reserve (`exceeds_reserves`) or when that
attestation is more than the currency's `reserve_max_age_ms` older than the block time
(`reserve_attestation_stale`; 0 means no limit and is only ever set explicitly: genesis and registrations
that leave it out get RESERVE_MAX_AGE_MS_DEFAULT, 35 days — a monthly report and its publication lag).

Each block header commits to every currency's supply and reserve after the block: `supply_root` is the
RFC 6962 Merkle root over the canonical encodings of [code, supply_minor, reserve_minor, reserve_as_of_ms],
one leaf per registered currency in code order (`supply_leaves`). The node keeps the leaves of every block
(store.py), and `verify_supply` in client/verify.py checks them, or one currency's Merkle proof, against a
header alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from corridor import codec
from corridor.hashing import merkle_root
from corridor.keys import format_address
from corridor.ledger import limits
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import CURRENCY_CODE_PATTERN, AttestReserve, GovSetAuditor

SUPPLY_LEAF_BYTES_MAX = 128


def reserve_age_ms(currency: Currency, time_ms: int) -> int:
    """How old the currency's latest reserve attestation is at `time_ms` (0 when it is as of later)."""
    return max(0, time_ms - currency.reserve_as_of_ms)


def is_stale(currency: Currency, time_ms: int) -> bool:
    """Whether a mint at block time `time_ms` is refused because the attestation is too old."""
    return currency.reserve_max_age_ms > 0 and reserve_age_ms(currency, time_ms) > currency.reserve_max_age_ms


def mint_refusal(currency: Currency, amount_minor: int, context: BlockContext) -> Refusal | None:
    """Why minting `amount_minor` more of `currency` in this block is refused by its reserve, or None."""
    if currency.supply_minor + amount_minor > currency.reserve_minor:
        return Refusal.EXCEEDS_RESERVES
    if is_stale(currency, context.time_ms):
        return Refusal.RESERVE_ATTESTATION_STALE
    return None


def redeemed(currency: Currency, amount_minor: int) -> Currency:
    """The currency after `amount_minor` of it is redeemed (burned by a holder, or a redemption request
    fulfilled): supply falls, and so does the attested reserve, which paid the holder out. Otherwise the
    room a redemption leaves under the old attestation could be minted again against money that is gone,
    and a stolen issuer key could fulfil a request without paying it and mint the amount to itself. The
    auditor's next attestation states the reserve anew."""
    return replace(currency, supply_minor=currency.supply_minor - amount_minor, reserve_minor=max(0, currency.reserve_minor - amount_minor))


def apply_attest_reserve(state: State, sender: bytes, tx: AttestReserve, context: BlockContext) -> Outcome:
    """The currency's auditor records its reserve as of a time. A reserve below supply is recorded too: it
    is a fact, and it stops further minting until the reserve covers supply again."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if sender != currency.auditor:
        return refused(Refusal.NOT_AUDITOR)
    if tx.reserve_as_of_ms > context.time_ms + limits.RESERVE_AS_OF_DRIFT_MS_MAX:
        return refused(Refusal.ATTESTATION_IN_FUTURE)
    if tx.reserve_as_of_ms < currency.reserve_as_of_ms:
        return refused(Refusal.ATTESTATION_OUT_OF_ORDER)
    # After this point the attestation must succeed.
    state.put_currency(
        replace(currency, reserve_minor=tx.reserve_minor, reserve_report_hash=tx.report_hash, reserve_height=context.height,
                reserve_as_of_ms=tx.reserve_as_of_ms)
    )
    return applied({"kind": "reserve_attested", "currency": tx.currency, "reserve_minor": tx.reserve_minor,
                    "report_hash": tx.report_hash, "reserve_as_of_ms": tx.reserve_as_of_ms, "account": sender})


def apply_set_auditor(state: State, sender: bytes, tx: GovSetAuditor, context: BlockContext) -> Outcome:
    """Governance names a currency's auditor and the maximum age of its attestation. The latest attestation
    stays; only the new auditor may make the next one."""
    currency = state.get_currency(tx.currency)
    if currency is None:
        return refused(Refusal.UNKNOWN_CURRENCY)
    if tx.auditor == currency.issuer:
        return refused(Refusal.AUDITOR_IS_ISSUER)
    # After this point the change must succeed.
    state.put_currency(replace(currency, auditor=tx.auditor, reserve_max_age_ms=tx.reserve_max_age_ms))
    return applied({"kind": "auditor_changed", "currency": tx.currency, "account": tx.auditor,
                    "reserve_max_age_ms": tx.reserve_max_age_ms})


def coverage_text(reserve_minor: int, supply_minor: int) -> str | None:
    """Reserve over supply as a decimal with four places, rounded down ("1.0000": exactly covered), or
    None while there is no supply."""
    if supply_minor == 0:
        return None
    ten_thousandths = reserve_minor * 10_000 // supply_minor
    return f"{ten_thousandths // 10_000}.{ten_thousandths % 10_000:04d}"


def reserve_view(currency: Currency, now_ms: int) -> dict[str, Any]:
    """The currency's reserve controls as JSON (GET /v1/currencies), with whether the attestation is stale at
    `now_ms` (the node's clock: what a mint proposed now would meet). The attestation's age is left to the
    reader's clock (now − `reserve_as_of_ms`), so the view only changes when the state does (or it goes stale)."""
    max_age_ms = currency.reserve_max_age_ms
    return {
        "auditor": format_address(currency.auditor) if currency.auditor else None,
        "reserve_as_of_ms": currency.reserve_as_of_ms,
        "reserve_max_age_ms": max_age_ms,
        "reserve_stale_at_ms": currency.reserve_as_of_ms + max_age_ms if max_age_ms else None,
        "reserve_stale": is_stale(currency, now_ms),
        "reserve_coverage": coverage_text(currency.reserve_minor, currency.supply_minor),
    }


# The header's commitment to supply and reserves ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupplyLeaf:
    """One currency's entry under a header's `supply_root`."""

    code: str
    supply_minor: int
    reserve_minor: int
    reserve_as_of_ms: int

    def to_bytes(self) -> bytes:
        return codec.encode([self.code, self.supply_minor, self.reserve_minor, self.reserve_as_of_ms])

    @classmethod
    def from_bytes(cls, raw: bytes) -> SupplyLeaf:
        """Decode a leaf strictly; raises ValueError."""
        try:
            item = codec.decode(raw, SUPPLY_LEAF_BYTES_MAX)
        except codec.DecodeError as exc:
            raise ValueError(f"a supply leaf is not canonical: {exc.message}") from None
        if type(item) is not list or len(item) != 4 or type(item[0]) is not str or not CURRENCY_CODE_PATTERN.fullmatch(item[0]):
            raise ValueError("a supply leaf is [code, supply_minor, reserve_minor, reserve_as_of_ms]")
        if not all(type(value) is int and 0 <= value <= codec.INT_MAX for value in item[1:]):
            raise ValueError("a supply leaf's amounts and time are non-negative integers")
        return cls(*item)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "supply_minor": self.supply_minor, "reserve_minor": self.reserve_minor,
                "reserve_as_of_ms": self.reserve_as_of_ms}


def supply_leaf(currency: Currency) -> bytes:
    return SupplyLeaf(currency.code, currency.supply_minor, currency.reserve_minor, currency.reserve_as_of_ms).to_bytes()


def supply_leaves(state: State) -> tuple[bytes, ...]:
    """The leaves of `supply_root` for `state`: one per registered currency, in code order."""
    return tuple(supply_leaf(Currency(**record)) for _, record in state.iterate(b"c/"))


def supply_root(leaves: tuple[bytes, ...] | list[bytes]) -> bytes:
    return merkle_root(list(leaves))


SUPPLY_PROOF_FORMAT = "corridor/supply-proof/v1"  # GET /v1/supply/{height}; client/verify.py's verify_supply reads it


def supply_document(header: Any, leaves: list[bytes], decimals: dict[str, int], only: str | None = None) -> dict[str, Any]:
    """Block `header`'s supply leaves with each one's Merkle audit path to the header's `supply_root`, and the
    header's bytes (GET /v1/supply/{height}; only the currency `only`, when given). `decimals` (the current
    ones) are shown for people and are not part of what the header commits to."""
    from corridor.hashing import merkle_proof

    entries = []
    for index, raw in enumerate(leaves):
        leaf = SupplyLeaf.from_bytes(raw)
        if only is not None and leaf.code != only:
            continue
        entries.append({
            **leaf.to_json(),
            "decimals": decimals.get(leaf.code),
            "coverage": coverage_text(leaf.reserve_minor, leaf.supply_minor),
            "leaf": {"raw": raw.hex(), "leaf_index": index, "leaf_count": len(leaves),
                     "path": [node.hex() for node in merkle_proof(leaves, index)]},
        })
    return {
        "format": SUPPLY_PROOF_FORMAT,
        "chain_id": header.chain_id,
        "height": header.height,
        "header": {"raw": codec.encode(header.to_map()).hex(), "hash": header.hash.hex(), "decoded": header.to_json()},
        "supply_root": header.supply_root.hex(),
        "leaf_count": len(leaves),
        "currencies": entries,
    }
