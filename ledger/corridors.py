"""Corridors: per-corridor travel-rule thresholds and flow limits (docs/compliance.md, section 3).

Jurisdictions. A currency's issuer records the jurisdiction of an account it deals with (`set_jurisdiction`,
usually right after `set_authorization`): an ISO 3166-1 alpha-2 code ("US", "HK", "SG", "DE", ...) or "EU",
nothing else, and no personal data. The record is per currency: the issuer that authorised the account knows
where it is, the other issuers may not; "" clears it (the jurisdiction is then unknown).

Corridors. A corridor is an ordered pair (sender's jurisdiction, recipient's jurisdiction) within one
currency. Its issuer sets a policy on it (`set_corridor_policy`): a travel-rule threshold (a payment above it
must carry a travel-rule hash: `travel_rule_required`; 0: none; `travel_rule_always`: every payment), a
maximum per payment (`payment_max_minor`, 0: none) and a maximum of what one sender may pay through the
corridor within a rolling window of block time (`window_max_minor` per `window_ms`, both 0: none), both
refused with `corridor_limit_exceeded`. Either side may be "*", which matches any jurisdiction, an unknown one
included. An account with no recorded jurisdiction meets only "*" policies on its side.

Which policies apply. For a payment from S to R in currency C, with jurisdictions js and jr in C: the
policies of (js, jr), (js, *), (*, jr) and (*, *), those that exist, each skipped when its side's
jurisdiction is unknown (an unknown jurisdiction never matches a code, only "*"). Every one that applies is
enforced, on its own and with its own window: a wildcard is a floor under every corridor it covers, never
loosened by a more specific one. Policies are checked in that order; within one: the payment maximum, the
window, the travel rule.

Which movements are payments. One function, `leg_refusal`, called by `rules._leg_policy` for every leg that
pays a named party: a transfer, each leg of a swap (A -> B in the give currency, B -> A in the get
currency), and both currency legs of a cross-currency payment, each as payer -> recipient (the amount paid in
the send currency, and the amount delivered in the receive currency), with the jurisdictions each currency's
issuer recorded. Not payments, and not checked: mints (issuance by the issuer to an account it vetted:
primary issuance, bounded by reserves, not a transfer between two parties), burns, clawbacks and redemptions
(the issuer's own relations with a holder), offers and their fills (trades with the book, not payments to a
named party), and a payment to oneself (a currency conversion).

The rolling window, exact and bounded. For a policy with a window, each sender has one record per (currency,
corridor): a ring of at most WINDOW_BUCKETS + 1 per-bucket totals. Block time is cut into buckets of
w = ceil(window_ms / WINDOW_BUCKETS) ms (bucket index = time_ms // w). A payment at block time t counts every
amount the sender paid through the corridor in the buckets t // w - WINDOW_BUCKETS ... t // w. Those buckets
cover at least the window_ms before t, so the guarantee is exact: within any span of window_ms of block time,
the amounts one sender paid through the corridor add up to at most window_max_minor. The price of bounded
state is that an amount may keep counting up to one bucket (window_ms / WINDOW_BUCKETS) longer than window_ms:
it stops counting at the latest window_ms + w after it was paid. Checking and recording a payment reads and
writes a fixed number of records: O(1), whatever the sender's history. Amounts are counted only while the
corridor has a window; changing its `window_ms` starts every sender's window afresh (the buckets no longer
line up), changing only `window_max_minor` keeps what was counted.

State (docs/protocol.md, "State"):
    j/a/<address 20 bytes>/<currency code>            -> the account's jurisdiction in that currency ("US")
    j/p/<currency code>/<from>/<to>                   -> a corridor policy (map); <from>, <to>: a code or "*"
    j/n/<currency code>                               -> how many corridor policies the currency has (absent: 0)
    j/w/<currency code>/<from>/<to>/<sender 20 bytes> -> {"bucket_ms", "buckets": [[index, total_minor], ...]}
The count lets a payment in a currency without corridor policies pay one read for all of this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corridor.ledger import limits
from corridor.ledger.amounts import format_amount
from corridor.ledger.outcome import BlockContext, Outcome, applied, refused
from corridor.ledger.refusals import Refusal
from corridor.ledger.state import Currency, State
from corridor.ledger.tx import SetCorridorPolicy, SetJurisdiction

JURISDICTION_PREFIX = b"j/a/"
POLICY_PREFIX = b"j/p/"
COUNT_PREFIX = b"j/n/"
WINDOW_PREFIX = b"j/w/"
WILDCARD = "*"
WINDOW_BUCKETS = limits.CORRIDOR_WINDOW_BUCKETS

# ISO 3166-1 alpha-2: every officially assigned code, and "EU" (exceptionally reserved for the European Union,
# whose Transfer of Funds Regulation treats the Union as one jurisdiction). "UK" is not a code: it is "GB".
JURISDICTIONS = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
    JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    EU
    """.split()
)
assert len(JURISDICTIONS) == 250, "the 249 assigned ISO 3166-1 alpha-2 codes and EU"


@dataclass(frozen=True, slots=True)
class CorridorPolicy:
    """One corridor's policy in one currency. `travel_rule_threshold_minor` 0 means no travel-rule
    requirement unless `travel_rule_always`; the maxima 0 mean none; the window needs both of its values."""

    currency: str
    from_jurisdiction: str
    to_jurisdiction: str
    travel_rule_threshold_minor: int
    travel_rule_always: bool
    payment_max_minor: int
    window_max_minor: int
    window_ms: int
    height: int  # the block that set it

    def requires_travel_rule(self, amount_minor: int) -> bool:
        return self.travel_rule_always or (self.travel_rule_threshold_minor > 0 and amount_minor > self.travel_rule_threshold_minor)

    @property
    def bucket_ms(self) -> int:
        return bucket_ms(self.window_ms)


def bucket_ms(window_ms: int) -> int:
    """The width of one bucket of a window: ceil(window_ms / WINDOW_BUCKETS), at least 1 ms."""
    return max(1, -(-window_ms // WINDOW_BUCKETS))


def is_jurisdiction(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code or EU (an account's jurisdiction)."""
    return code in JURISDICTIONS


def is_corridor_side(code: str) -> bool:
    """A jurisdiction or the wildcard "*" (a side of a corridor)."""
    return code == WILDCARD or code in JURISDICTIONS


# Keys and records -----------------------------------------------------------------------------------------


def jurisdiction_key(address: bytes, currency: str) -> bytes:
    return JURISDICTION_PREFIX + address + b"/" + currency.encode()


def _corridor(currency: str, from_jurisdiction: str, to_jurisdiction: str) -> bytes:
    return currency.encode() + b"/" + from_jurisdiction.encode() + b"/" + to_jurisdiction.encode()


def policy_key(currency: str, from_jurisdiction: str, to_jurisdiction: str) -> bytes:
    return POLICY_PREFIX + _corridor(currency, from_jurisdiction, to_jurisdiction)


def count_key(currency: str) -> bytes:
    return COUNT_PREFIX + currency.encode()


def window_key(currency: str, from_jurisdiction: str, to_jurisdiction: str, sender: bytes) -> bytes:
    return WINDOW_PREFIX + _corridor(currency, from_jurisdiction, to_jurisdiction) + b"/" + sender


def jurisdiction_of(state: State, address: bytes, currency: str) -> str:
    """The jurisdiction `currency`'s issuer recorded for `address`, or "" when none is."""
    value = state.get_record(jurisdiction_key(address, currency))
    return "" if value is None else value


def jurisdictions_of(state: State, address: bytes) -> dict[str, str]:
    """Every jurisdiction recorded for `address`, by currency code."""
    prefix = JURISDICTION_PREFIX + address + b"/"
    return {key[len(prefix):].decode(): value for key, value in state.iterate(prefix)}


def policy_count(state: State, currency: str) -> int:
    value = state.get_record(count_key(currency))
    return 0 if value is None else value


def get_policy(state: State, currency: str, from_jurisdiction: str, to_jurisdiction: str) -> CorridorPolicy | None:
    record = state.get_record(policy_key(currency, from_jurisdiction, to_jurisdiction))
    return None if record is None else CorridorPolicy(currency, from_jurisdiction, to_jurisdiction, **record)


def policies_of(state: State, currency: str) -> list[CorridorPolicy]:
    """Every corridor policy of `currency`, in key order (so "*" sides first, then by code)."""
    prefix = POLICY_PREFIX + currency.encode() + b"/"
    found = []
    for key, record in state.iterate(prefix):
        from_jurisdiction, to_jurisdiction = key[len(prefix):].decode().split("/")
        found.append(CorridorPolicy(currency, from_jurisdiction, to_jurisdiction, **record))
    return found


def _policy_record(policy: CorridorPolicy) -> dict[str, Any]:
    return {
        "travel_rule_threshold_minor": policy.travel_rule_threshold_minor,
        "travel_rule_always": policy.travel_rule_always,
        "payment_max_minor": policy.payment_max_minor,
        "window_max_minor": policy.window_max_minor,
        "window_ms": policy.window_ms,
        "height": policy.height,
    }


def applicable_policies(state: State, currency: str, sender: bytes, recipient: bytes) -> list[CorridorPolicy]:
    """The policies that govern a payment from `sender` to `recipient` in `currency`, in checking order:
    (js, jr), (js, *), (*, jr), (*, *), with js and jr the two accounts' jurisdictions in `currency`; a side
    whose jurisdiction is unknown matches only "*". At most 2 + 4 reads (1 when the currency has none)."""
    if sender == recipient or policy_count(state, currency) == 0:
        return []
    sender_j, recipient_j = jurisdiction_of(state, sender, currency), jurisdiction_of(state, recipient, currency)
    corridors = []
    if sender_j and recipient_j:
        corridors.append((sender_j, recipient_j))
    if sender_j:
        corridors.append((sender_j, WILDCARD))
    if recipient_j:
        corridors.append((WILDCARD, recipient_j))
    corridors.append((WILDCARD, WILDCARD))
    return [policy for pair in corridors if (policy := get_policy(state, currency, *pair)) is not None]


# The rolling window ---------------------------------------------------------------------------------------


def _buckets(state: State, policy: CorridorPolicy, sender: bytes) -> list[tuple[int, int]]:
    """The sender's (bucket index, total) pairs for the policy's current bucket width, oldest first."""
    record = state.get_record(window_key(policy.currency, policy.from_jurisdiction, policy.to_jurisdiction, sender))
    if record is None or record["bucket_ms"] != policy.bucket_ms:
        return []  # none yet, or counted with another window length: the window starts afresh
    return [(index, total) for index, total in record["buckets"]]


def window_used(state: State, policy: CorridorPolicy, sender: bytes, time_ms: int) -> int:
    """What `sender` paid through the policy's corridor in the buckets that count at block time `time_ms`
    (0 when the corridor has no window)."""
    if not policy.window_ms:
        return 0
    oldest = time_ms // policy.bucket_ms - WINDOW_BUCKETS
    return sum(total for index, total in _buckets(state, policy, sender) if index >= oldest)


def _record(state: State, policy: CorridorPolicy, sender: bytes, amount_minor: int, time_ms: int) -> None:
    """Add a payment to the sender's window: into the current bucket (or the newest one, should a mempool
    clock run behind the last block), dropping the buckets that no longer count. At most WINDOW_BUCKETS + 1
    buckets remain."""
    buckets = _buckets(state, policy, sender)
    current = max(time_ms // policy.bucket_ms, buckets[-1][0] if buckets else 0)
    kept = [[index, total] for index, total in buckets if index >= current - WINDOW_BUCKETS]
    if kept and kept[-1][0] == current:
        kept[-1][1] += amount_minor
    else:
        kept.append([current, amount_minor])
    state.put_record(window_key(policy.currency, policy.from_jurisdiction, policy.to_jurisdiction, sender),
                     {"bucket_ms": policy.bucket_ms, "buckets": kept})


# The one check every paying leg goes through (rules._leg_policy), and its effect ---------------------------


def leg_refusal(state: State, currency: str, sender: bytes, recipient: bytes, amount_minor: int, travel_rule_hash: bytes,
                context: BlockContext) -> Refusal | None:
    """Why the corridor policies of `currency` refuse `sender` paying `amount_minor` to `recipient` at the
    block's time, or None: for each applicable policy in order, `corridor_limit_exceeded` above its payment
    maximum or when the sender's window would pass its maximum, then `travel_rule_required` when the
    payment needs a travel-rule hash and carries none. Reads only."""
    for policy in applicable_policies(state, currency, sender, recipient):
        if policy.payment_max_minor and amount_minor > policy.payment_max_minor:
            return Refusal.CORRIDOR_LIMIT_EXCEEDED
        if policy.window_max_minor and window_used(state, policy, sender, context.time_ms) + amount_minor > policy.window_max_minor:
            return Refusal.CORRIDOR_LIMIT_EXCEEDED
        if policy.requires_travel_rule(amount_minor) and not travel_rule_hash:
            return Refusal.TRAVEL_RULE_REQUIRED
    return None


def record_leg(state: State, currency: str, sender: bytes, recipient: bytes, amount_minor: int, context: BlockContext) -> None:
    """Count a leg that `leg_refusal` accepted in the sender's window of every applicable policy that has
    one. Called after a rule's "must succeed" line, with the same arguments as the check."""
    for policy in applicable_policies(state, currency, sender, recipient):
        if policy.window_max_minor:
            _record(state, policy, sender, amount_minor, context.time_ms)


# Rules ----------------------------------------------------------------------------------------------------


def _issued_by(state: State, sender: bytes, code: str) -> tuple[Currency | None, Refusal | None]:
    currency = state.get_currency(code)
    if currency is None:
        return None, Refusal.UNKNOWN_CURRENCY
    if currency.issuer != sender:
        return None, Refusal.NOT_ISSUER
    return currency, None


def apply_set_jurisdiction(state: State, sender: bytes, tx: SetJurisdiction, context: BlockContext) -> Outcome:
    """The issuer records `tx.account`'s jurisdiction for its currency ("" clears it)."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if tx.jurisdiction and not is_jurisdiction(tx.jurisdiction):
        return refused(Refusal.UNKNOWN_JURISDICTION)
    # After this point the change must succeed.
    state.put_record(jurisdiction_key(tx.account, tx.currency), tx.jurisdiction or None)
    return applied({"kind": "jurisdiction_set", "currency": tx.currency, "account": tx.account, "jurisdiction": tx.jurisdiction})


def apply_set_corridor_policy(state: State, sender: bytes, tx: SetCorridorPolicy, context: BlockContext) -> Outcome:
    """The issuer sets (or, with every control off, removes) the policy of one corridor of its currency."""
    currency, refusal = _issued_by(state, sender, tx.currency)
    if currency is None:
        return refused(refusal)
    if not is_corridor_side(tx.from_jurisdiction) or not is_corridor_side(tx.to_jurisdiction):
        return refused(Refusal.UNKNOWN_JURISDICTION)
    if (tx.window_max_minor > 0) != (tx.window_ms > 0) or (tx.travel_rule_always and tx.travel_rule_threshold_minor > 0):
        return refused(Refusal.BAD_CORRIDOR_POLICY)
    removing = not (tx.travel_rule_threshold_minor or tx.travel_rule_always or tx.payment_max_minor or tx.window_max_minor)
    existing = get_policy(state, tx.currency, tx.from_jurisdiction, tx.to_jurisdiction)
    count = policy_count(state, tx.currency)
    if existing is None and not removing and count >= limits.CORRIDORS_PER_CURRENCY_MAX:
        return refused(Refusal.TOO_MANY_CORRIDORS)
    # After this point the change must succeed.
    key = policy_key(tx.currency, tx.from_jurisdiction, tx.to_jurisdiction)
    if removing:
        state.put_record(key, None)
        if existing is not None:
            state.put_record(count_key(tx.currency), (count - 1) or None)
    else:
        policy = CorridorPolicy(tx.currency, tx.from_jurisdiction, tx.to_jurisdiction, tx.travel_rule_threshold_minor,
                                tx.travel_rule_always, tx.payment_max_minor, tx.window_max_minor, tx.window_ms, context.height)
        state.put_record(key, _policy_record(policy))
        if existing is None:
            state.put_record(count_key(tx.currency), count + 1)
    return applied(
        {"kind": "corridor_policy_set", "currency": tx.currency, "from_jurisdiction": tx.from_jurisdiction,
         "to_jurisdiction": tx.to_jurisdiction, "travel_rule_threshold_minor": tx.travel_rule_threshold_minor,
         "travel_rule_always": tx.travel_rule_always, "payment_max_minor": tx.payment_max_minor,
         "window_max_minor": tx.window_max_minor, "window_ms": tx.window_ms, "removed": removing}
    )


CORRIDOR_RULES = {
    SetJurisdiction: apply_set_jurisdiction,
    SetCorridorPolicy: apply_set_corridor_policy,
}


# Views (the API, the CLI, the explorer) -----------------------------------------------------------------------


def policy_to_json(policy: CorridorPolicy, decimals: int) -> dict[str, Any]:
    """A policy as JSON (GET /v1/currencies/{code}/corridors): minor units, and major units as text."""
    def amount(minor: int) -> str | None:
        return format_amount(minor, decimals) if minor else None

    return {
        "currency": policy.currency,
        "from_jurisdiction": policy.from_jurisdiction,
        "to_jurisdiction": policy.to_jurisdiction,
        "travel_rule_threshold_minor": policy.travel_rule_threshold_minor,
        "travel_rule_threshold": amount(policy.travel_rule_threshold_minor),
        "travel_rule_always": policy.travel_rule_always,
        "payment_max_minor": policy.payment_max_minor,
        "payment_max": amount(policy.payment_max_minor),
        "window_max_minor": policy.window_max_minor,
        "window_max": amount(policy.window_max_minor),
        "window_ms": policy.window_ms,
        "bucket_ms": policy.bucket_ms if policy.window_ms else 0,
        "height": policy.height,
    }


def account_window_json(state: State, policy: CorridorPolicy, sender: bytes, now_ms: int, decimals: int) -> dict[str, Any] | None:
    """What `sender` has paid through the corridor in its window as the chain would count it at `now_ms`,
    and what remains (None when the corridor has no window)."""
    if not policy.window_ms:
        return None
    used = window_used(state, policy, sender, now_ms)
    remaining = max(0, policy.window_max_minor - used)
    return {"used_minor": used, "used": format_amount(used, decimals),
            "remaining_minor": remaining, "remaining": format_amount(remaining, decimals)}

