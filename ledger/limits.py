"""Every limit of the ledger, named with its unit last; relations between them are checked at import."""

KIB = 1024
MIB = 1024 * KIB

TX_SIZE_BYTES_MAX = 4 * KIB
MEMO_BYTES_MAX = 256
BLOCK_TXS_MAX = 2_000
BLOCK_SIZE_BYTES_MAX = 12 * MIB
AMOUNT_MINOR_MAX = 2**63 - 1
NONCE_MAX = 2**63 - 1
PRICE_TERM_MAX = 2**63 - 1  # numerator and denominator of an offer's price
BOOK_WALK_OFFERS_MAX = 100  # resting offers one offer or payment may touch
PAYMENT_INTERMEDIATES_MAX = 8  # currencies a payment tries as its one intermediate
GOVERNANCE_SIGNATURES_MAX = 32  # validators' signatures one governance transaction may carry
VALIDATORS_MAX = GOVERNANCE_SIGNATURES_MAX  # larger, and a quorum could no longer sign governance
VALIDATOR_POWER_MAX = 2**32
VALIDATOR_CHANGE_DELAY_MIN = 2  # blocks between a validator change committing and taking effect
VALIDATOR_CHANGE_DELAY_MAX = 100_000
CURRENCY_DECIMALS_MAX = 18
GENESIS_BYTES_MAX = 16 * MIB
EVIDENCE_PER_BLOCK_MAX = 64
EVIDENCE_BYTES_MAX = 2 * KIB  # a pair of votes; consensus/evidence.py holds the same bound
RESERVE_MAX_AGE_MS_DEFAULT = 35 * 24 * 3600 * 1000  # a reserve attestation older than this stops minting (reserves.py)
RESERVE_AS_OF_DRIFT_MS_MAX = 60_000  # how far an attestation's as-of time may run ahead of the block time
SANCTION_OFFERS_REMOVED_MAX = 100  # resting offers one sanctions listing takes out of the book (sanctions.py)
REDEMPTION_DEADLINE_MS_DEFAULT = 432_000_000  # 5 days of block time: an issuer must act on a redemption request within it (redemption.py)
REDEMPTION_DEADLINE_MS_MAX = 366 * 24 * 3600 * 1000  # the longest redemption deadline an issuer may set
REDEMPTIONS_OPEN_PER_ACCOUNT_MAX = 100  # redemption requests one account may have open at once
COMPLIANCE_KEYS_MAX = 8  # compliance keys of one currency, and approvers of one seizure (orders.py)
ORDER_AUTHORITY_CHARS_MAX = 64  # a lawful order's issuing authority, as text (orders.py)
CORRIDOR_WINDOW_BUCKETS = 8  # a corridor's rolling window is counted in this many buckets, plus the current one (corridors.py)
CORRIDOR_WINDOW_MS_MAX = 366 * 24 * 3600 * 1000  # the longest rolling window a corridor policy may have
CORRIDORS_PER_CURRENCY_MAX = 1_000  # corridor policies one currency may have (corridors.py)

assert MEMO_BYTES_MAX < TX_SIZE_BYTES_MAX
assert BLOCK_TXS_MAX * TX_SIZE_BYTES_MAX < BLOCK_SIZE_BYTES_MAX  # a block of max-size txs still fits
assert GOVERNANCE_SIGNATURES_MAX * 100 < TX_SIZE_BYTES_MAX  # a fully signed governance transaction fits
