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

assert MEMO_BYTES_MAX < TX_SIZE_BYTES_MAX
assert BLOCK_TXS_MAX * TX_SIZE_BYTES_MAX < BLOCK_SIZE_BYTES_MAX  # a block of max-size txs still fits
assert GOVERNANCE_SIGNATURES_MAX * 100 < TX_SIZE_BYTES_MAX  # a fully signed governance transaction fits
