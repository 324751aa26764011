"""Stable refusal codes: why a transaction (or a request carrying one) was not accepted.

Never renumber or reuse a value: clients store and branch on these codes. The code string (the member's
name in lower case) is the public contract; the number is its compact form.
"""

from __future__ import annotations

import enum


class Refusal(enum.IntEnum):
    BAD_ENCODING = 1
    NON_CANONICAL = 2
    TOO_LARGE = 3
    BAD_SIGNATURE = 4
    BAD_FIELD = 5
    UNKNOWN_TX_TYPE = 6
    BAD_NONCE = 7
    INSUFFICIENT_FUNDS = 8
    NOT_ISSUER = 9
    EXCEEDS_RESERVES = 10
    UNKNOWN_CURRENCY = 11
    DUPLICATE = 12
    SELF_TRANSFER = 13
    MEMPOOL_FULL = 14
    SENDER_QUEUE_FULL = 15
    CURRENCY_PAUSED = 16
    SENDER_FROZEN = 17
    RECIPIENT_FROZEN = 18
    SENDER_NOT_AUTHORIZED = 19
    RECIPIENT_NOT_AUTHORIZED = 20
    EXCEEDS_TRANSFER_LIMIT = 21
    TRAVEL_RULE_REQUIRED = 22
    ACCOUNT_NOT_FROZEN = 23
    NOT_DISTRIBUTOR = 24
    SWAP_EXPIRED = 25
    SAME_CURRENCY = 26
    COUNTERPARTY_INSUFFICIENT_FUNDS = 27
    UNKNOWN_OFFER = 28
    NOT_OFFER_OWNER = 29
    BOOK_TOO_THIN = 30
    SEND_MAX_EXCEEDED = 31
    GOVERNANCE_QUORUM_MISSING = 32
    CURRENCY_EXISTS = 33
    BAD_EFFECTIVE_HEIGHT = 34
    TOO_MANY_VALIDATORS = 35
    ISSUER_ACCOUNT = 36
    ACCOUNT_SANCTIONED = 37
    ALREADY_SANCTIONED = 38
    NOT_SANCTIONED = 39
    UNKNOWN_REDEMPTION = 40
    NOT_REDEMPTION_REQUESTER = 41
    REDEMPTION_CLOSED = 42
    ISSUER_REDEMPTION = 43
    TOO_MANY_OPEN_REDEMPTIONS = 44
    NOT_AUDITOR = 45
    RESERVE_ATTESTATION_STALE = 46
    ATTESTATION_OUT_OF_ORDER = 47
    ATTESTATION_IN_FUTURE = 48
    AUDITOR_IS_ISSUER = 49
    CORRIDOR_LIMIT_EXCEEDED = 50
    BAD_CORRIDOR_POLICY = 51
    TOO_MANY_CORRIDORS = 52
    UNKNOWN_JURISDICTION = 53
    ORDER_REQUIRED = 55
    ORDER_EXPIRED = 56
    ORDER_APPROVALS_MISSING = 57
    NOT_COMPLIANCE_KEY = 58
    BAD_COMPLIANCE_KEYS = 59
    LICENCE_EXPIRED = 60
    LICENCE_REVOKED = 61
    LICENCE_REQUIRED = 62
    UNKNOWN_LICENCE = 63
    LICENCE_EXPIRY_PASSED = 64

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def sentence(self) -> str:
        return SENTENCES[self]


SENTENCES = {
    Refusal.BAD_ENCODING: "The transaction is not valid canonical msgpack.",
    Refusal.NON_CANONICAL: "The transaction bytes are not in canonical form.",
    Refusal.TOO_LARGE: "The transaction is larger than the limit.",
    Refusal.BAD_SIGNATURE: "A signature does not verify for this chain and transaction.",
    Refusal.BAD_FIELD: "A field is missing, unknown, of the wrong type or out of range.",
    Refusal.UNKNOWN_TX_TYPE: "The transaction type is not known to this chain.",
    Refusal.BAD_NONCE: "The nonce is not the sender's next nonce.",
    Refusal.INSUFFICIENT_FUNDS: "The sender's balance is lower than the amount.",
    Refusal.NOT_ISSUER: "Only the currency's issuer may do this.",
    Refusal.EXCEEDS_RESERVES: "Minting this amount would take supply above the latest attested reserve.",
    Refusal.UNKNOWN_CURRENCY: "No currency with this code is registered.",
    Refusal.DUPLICATE: "This transaction is already pending or committed.",
    Refusal.SELF_TRANSFER: "Sender and recipient are the same account.",
    Refusal.MEMPOOL_FULL: "The node's mempool is full; retry later.",
    Refusal.SENDER_QUEUE_FULL: "This sender has too many pending transactions; wait for some to commit.",
    Refusal.CURRENCY_PAUSED: "The currency's issuer has paused it: nothing moves until it is resumed.",
    Refusal.SENDER_FROZEN: "The sending account is frozen for this currency.",
    Refusal.RECIPIENT_FROZEN: "The receiving account is frozen for this currency.",
    Refusal.SENDER_NOT_AUTHORIZED: "The sending account is not authorised to hold this currency.",
    Refusal.RECIPIENT_NOT_AUTHORIZED: "The receiving account is not authorised to hold this currency.",
    Refusal.EXCEEDS_TRANSFER_LIMIT: "The amount is above the currency's limit for one payment.",
    Refusal.TRAVEL_RULE_REQUIRED: "Above the currency's travel-rule threshold a payment must carry a travel-rule hash.",
    Refusal.ACCOUNT_NOT_FROZEN: "A clawback needs the account to be frozen first.",
    Refusal.NOT_DISTRIBUTOR: "Under this currency's distribution model only licensed distributors may do this.",
    Refusal.SWAP_EXPIRED: "The swap's expiry height has passed.",
    Refusal.SAME_CURRENCY: "The two currencies must differ (use a transfer to move one currency).",
    Refusal.COUNTERPARTY_INSUFFICIENT_FUNDS: "The counterparty's balance is lower than its leg of the swap.",
    Refusal.UNKNOWN_OFFER: "No resting offer has this id.",
    Refusal.NOT_OFFER_OWNER: "Only the account that made an offer may cancel it.",
    Refusal.BOOK_TOO_THIN: "The order book cannot deliver the amount asked for.",
    Refusal.SEND_MAX_EXCEEDED: "Filling the payment would cost more than the sender's maximum.",
    Refusal.GOVERNANCE_QUORUM_MISSING: "Governance needs signatures of validators holding more than 2/3 of the voting power.",
    Refusal.CURRENCY_EXISTS: "A currency with this code is already registered.",
    Refusal.BAD_EFFECTIVE_HEIGHT: "A validator change takes effect between 2 and 100,000 blocks after it commits.",
    Refusal.TOO_MANY_VALIDATORS: "The validator set is full: a quorum's signatures must fit in one governance transaction.",
    Refusal.ISSUER_ACCOUNT: "The issuer's own account is exempt from allow-lists, freezes and clawbacks.",
    Refusal.ACCOUNT_SANCTIONED: "The account is on the consortium sanctions list: it can neither send nor receive any currency, nor trade.",
    Refusal.ALREADY_SANCTIONED: "The account is already on the consortium sanctions list.",
    Refusal.NOT_SANCTIONED: "The account is not on the consortium sanctions list.",
    Refusal.UNKNOWN_REDEMPTION: "No redemption request has this id.",
    Refusal.NOT_REDEMPTION_REQUESTER: "Only the account that requested a redemption may cancel it.",
    Refusal.REDEMPTION_CLOSED: "The redemption request was already fulfilled, rejected or cancelled.",
    Refusal.ISSUER_REDEMPTION: "The issuer does not request redemption from itself: it burns its own coins.",
    Refusal.TOO_MANY_OPEN_REDEMPTIONS: "The account has as many open redemption requests as allowed; wait for some to be settled.",
    Refusal.NOT_AUDITOR: "Only the currency's auditor may attest its reserve.",
    Refusal.RESERVE_ATTESTATION_STALE: "The latest reserve attestation is older than the currency's maximum age: minting waits for a new one.",
    Refusal.ATTESTATION_OUT_OF_ORDER: "The attestation's as-of time is older than the currency's latest attestation.",
    Refusal.ATTESTATION_IN_FUTURE: "The attestation's as-of time is ahead of the block time by more than the allowed drift.",
    Refusal.AUDITOR_IS_ISSUER: "A currency's auditor and its issuer must be different accounts.",
    Refusal.CORRIDOR_LIMIT_EXCEEDED: "The payment is above its corridor's limit for one payment, or would take the sender's total through the corridor in its rolling window above the limit.",
    Refusal.BAD_CORRIDOR_POLICY: "A corridor's window needs both a maximum and a length (or neither), and a travel rule on every payment takes no threshold.",
    Refusal.TOO_MANY_CORRIDORS: "The currency has as many corridor policies as allowed; remove one first.",
    Refusal.UNKNOWN_JURISDICTION: "A jurisdiction is an ISO 3166-1 alpha-2 country code or EU (a corridor side may also be *).",
    Refusal.ORDER_REQUIRED: "A freeze, clawback, forced burn or sanctions listing must carry its lawful order: the issuing authority and the order's hash.",
    Refusal.ORDER_EXPIRED: "The lawful order has expired: the block time is past its expiry.",
    Refusal.ORDER_APPROVALS_MISSING: "The currency requires more approvals by its compliance keys than the transaction carries.",
    Refusal.NOT_COMPLIANCE_KEY: "An approving key is not one of the currency's compliance keys (or is the signer's own).",
    Refusal.BAD_COMPLIANCE_KEYS: "The compliance threshold must not exceed the number of keys, and no compliance key may be the issuer's.",
    Refusal.LICENCE_EXPIRED: "The account's licence for this has expired: it no longer takes effect.",
    Refusal.LICENCE_REVOKED: "The account's licence for this has been revoked by the issuer: it no longer takes effect.",
    Refusal.LICENCE_REQUIRED: "The currency's issuer requires a licence for this (an exchange licence to place offers in it), and the account holds none.",
    Refusal.UNKNOWN_LICENCE: "The account holds no licence of this scope in the currency.",
    Refusal.LICENCE_EXPIRY_PASSED: "A licence's expiry must be after the block time (or 0: no expiry).",
}
assert set(SENTENCES) == set(Refusal)
