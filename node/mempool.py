"""The mempool: admitted transactions waiting for a block, and the pending state they lead to.

Admission verifies a transaction's signatures once and applies it, with the ledger's own rules, to the
pending state (the committed state plus every transaction admitted before it). So a transaction is admitted
only if it would apply after those before it: the sender's next nonce, enough funds, the issuer's rights.
Block proposals take transactions in admission order, which keeps each sender's nonces in sequence.

After a block commits, the pending state is rebuilt on the new committed state and every remaining
transaction is re-applied; those that no longer apply are dropped and reported (through `on_dropped`). The
rebuild is deferred until the pending state is next needed (an admission, a nonce query, or the node's
next idle turn): it must not delay the next proposal, which is built from the committed state.
"""

from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass
from typing import Callable

from corridor.ledger.refusals import Refusal
from corridor.ledger.rules import BlockContext, apply_tx, expected_nonce
from corridor.ledger.state import State
from corridor.ledger.store import Store
from corridor.ledger.tx import SignedTx, signatures_valid


# The pending state is rebuilt once it holds more written keys than this many per pending transaction
# (plus the slack): a transfer writes three, a payment through the book a dozen.
OVERLAY_KEYS_PER_PENDING_TX = 16
OVERLAY_KEYS_SLACK = 20_000


@dataclass(frozen=True, slots=True)
class Dropped:
    tx: SignedTx
    refusal: Refusal


class Mempool:
    """Bounded in total and per sender; every limit refuses with its own code, never grows without bound."""

    def __init__(self, store: Store, chain_id: str, txs_max: int, sender_txs_max: int) -> None:
        self._store = store
        self._chain_id = chain_id
        self._txs_max = txs_max
        self._sender_txs_max = sender_txs_max
        self._pending: dict[bytes, SignedTx] = {}
        self._per_sender: collections.Counter[bytes] = collections.Counter()
        self._state = State(store)
        self._stale = False  # the pending state must be rebuilt before it is used
        self._stale_since_ms = 0
        self.on_dropped: Callable[[list[Dropped]], None] = lambda dropped: None

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._pending

    def get(self, tx_hash: bytes) -> SignedTx | None:
        return self._pending.get(tx_hash)

    def pending_count(self, sender: bytes) -> int:
        return self._per_sender[sender]

    def next_nonce(self, sender: bytes) -> int:
        """The nonce the sender's next transaction must carry, counting pending ones."""
        self.refresh(self._stale_since_ms)
        return self._state.get_nonce(sender)

    def cheap_refusal(self, tx: SignedTx) -> Refusal | None:
        """The refusals admission gives before any signature work: a duplicate, or no room.

        A transaction already committed is found here only when it would otherwise be refused for room;
        else its nonce, which the chain has used, refuses it in `admit`, and only then is the store asked
        (a lookup that every admission would otherwise pay)."""
        if tx.hash in self._pending:
            return Refusal.DUPLICATE
        if len(self._pending) >= self._txs_max or self._per_sender[tx.sender] >= self._sender_txs_max:
            if self._store.find_tx(tx.hash) is not None:
                return Refusal.DUPLICATE
            return Refusal.MEMPOOL_FULL if len(self._pending) >= self._txs_max else Refusal.SENDER_QUEUE_FULL
        return None

    def admit(self, tx: SignedTx, now_ms: int, signature_ok: bool | None = None) -> Refusal | None:
        """Admit `tx` or say why not. Checks are ordered cheapest first; the signature is verified once:
        here, or before (`signature_ok` says how that went)."""
        refusal = self.cheap_refusal(tx)
        if refusal is not None:
            return refusal
        self.refresh(now_ms)
        if tx.body.nonce != expected_nonce(self._state, tx):
            return Refusal.DUPLICATE if self._store.find_tx(tx.hash) is not None else Refusal.BAD_NONCE
        if not (signatures_valid(tx, self._chain_id) if signature_ok is None else signature_ok):
            return Refusal.BAD_SIGNATURE
        outcome = self._apply(tx, now_ms)
        if outcome is not None:
            return outcome
        self._pending[tx.hash] = tx
        self._per_sender[tx.sender] += 1
        return None

    def _apply(self, tx: SignedTx, now_ms: int) -> Refusal | None:
        context = BlockContext(self._store.tip.height + 1, now_ms)
        trial = self._state.child()
        outcome = apply_tx(trial, tx, context)
        if outcome.refusal is not None:
            return outcome.refusal
        trial.commit()
        return None

    def candidates(self, count_max: int) -> list[SignedTx]:
        """Up to `count_max` pending transactions in admission order."""
        result = []
        for tx in self._pending.values():
            if len(result) == count_max:
                break
            result.append(tx)
        return result

    def _forget(self, tx: SignedTx) -> None:
        if self._pending.pop(tx.hash, None) is not None:
            self._per_sender[tx.sender] -= 1
            if not self._per_sender[tx.sender]:
                del self._per_sender[tx.sender]

    def remove_committed(self, committed: list[SignedTx], now_ms: int, dropped: list[SignedTx] = ()) -> None:
        """Forget `committed` (now in the store) and `dropped`.

        When the block committed exactly the oldest pending transactions, in admission order (what this
        node proposes, and what it holds in the order the proposer does), the pending state is still
        right as it is: it is the committed state plus the remaining transactions. Otherwise it is stale
        and rebuilt by `refresh` when next needed, re-applying every remaining transaction. It is rebuilt
        too once it holds far more written keys than the remaining transactions wrote: under a load that
        never lets the mempool empty, the committed transactions' writes would otherwise pile up in it."""
        oldest = list(itertools.islice(self._pending, len(committed)))
        if not self._stale and not dropped and oldest == [tx.hash for tx in committed]:
            for tx in committed:
                self._forget(tx)
            if not self._pending:
                self._state = State(self._store)  # nothing pending: start afresh
                return
            if self._state.written_count() <= OVERLAY_KEYS_PER_PENDING_TX * len(self._pending) + OVERLAY_KEYS_SLACK:
                self._state.forget_reads()  # keys the block changed beyond these transactions (validator set) are read anew
                return
        for tx in [*committed, *dropped]:
            self._forget(tx)
        self._stale, self._stale_since_ms = True, now_ms

    def refresh(self, now_ms: int) -> None:
        """Rebuild the pending state if a block left it stale: re-apply every pending transaction in order
        on the committed state, and report through `on_dropped` those that no longer apply."""
        if not self._stale:
            return
        self._stale = False
        remaining = list(self._pending.values())
        self._pending.clear()
        self._per_sender.clear()
        self._state = State(self._store)
        dropped = []
        for tx in remaining:
            refusal = self._apply(tx, now_ms)
            if refusal is None:
                self._pending[tx.hash] = tx
                self._per_sender[tx.sender] += 1
            else:
                dropped.append(Dropped(tx, refusal))
        if dropped:
            self.on_dropped(dropped)
