"""An incremental commitment to the whole state: LtHash16 (Lewi et al., "Securing Update Propagation with
Homomorphic Hashing", 2019), the lattice hash that Facebook and Solana use for the same purpose.

Every state entry (key, value) maps to a vector of 1024 lanes of 16 bits (SHAKE-256 of the entry); the
state's hash is the lane-wise sum of the vectors of all entries, modulo 2**16. Changing a key subtracts the
old entry's vector and adds the new one, so a block costs work in proportion to the keys it changed, not to
the size of the state. The state root in a header is SHA-256 of the 2048-byte sum. Finding two different
states with the same sum is as hard as a short-integer-solution lattice problem (about 200-bit security
at these parameters, per the paper).

Internally the lanes are split in two big integers, the even lanes and the odd lanes, each lane 32 bits
apart, so a vector addition is two big-integer additions; the upper 16 bits of each lane absorb carries and
are masked off when the sum is read.
"""

from __future__ import annotations

import functools
import hashlib

LANES = 1024
_LANE_BITS = 32
_ELEMENT_BYTES = LANES * 2
_DOMAIN = b"corridor/state-entry/v1"
_LOW_16_OF_EVERY_OTHER_LANE = int.from_bytes(b"\xff\xff\x00\x00" * (LANES // 2), "little")
_2_16_IN_EVERY_OTHER_LANE = int.from_bytes(b"\x00\x00\x01\x00" * (LANES // 2), "little")
_ADDITIONS_BEFORE_NORMALISING = 60_000  # each addition adds at most 2**16 to a lane; 60,000 of them stay below 2**32


def _split(lanes16: bytes) -> tuple[int, int]:
    """The even and the odd 16-bit lanes, each spread 32 bits apart."""
    packed = int.from_bytes(lanes16, "little")
    return packed & _LOW_16_OF_EVERY_OTHER_LANE, (packed >> 16) & _LOW_16_OF_EVERY_OTHER_LANE


# A block removes the entries the block before it added (a busy account's balance changes block after
# block): remembering recent vectors halves the hashing. 8,192 covers two blocks of the most keys a block of
# transfers changes, about 34 MB at most.
ENTRY_VECTORS_CACHED = 8_192


@functools.lru_cache(maxsize=ENTRY_VECTORS_CACHED)
def entry_vector(key: bytes, value: bytes) -> tuple[int, int]:
    """The lattice vector of one state entry, as its even and odd lanes."""
    assert len(key) < 2**16
    return _split(hashlib.shake_256(_DOMAIN + len(key).to_bytes(2, "big") + key + value).digest(_ELEMENT_BYTES))


class StateHash:
    """The running LtHash16 of a set of (key, value) entries."""

    def __init__(self, lanes16: bytes = bytes(_ELEMENT_BYTES)) -> None:
        assert len(lanes16) == _ELEMENT_BYTES
        self._even, self._odd = _split(lanes16)
        self._additions = 0

    def copy(self) -> StateHash:
        clone = StateHash()
        clone._even, clone._odd, clone._additions = self._even, self._odd, self._additions
        return clone

    def _add_vector(self, even: int, odd: int) -> None:
        self._even += even
        self._odd += odd
        self._additions += 1
        if self._additions >= _ADDITIONS_BEFORE_NORMALISING:
            self._even &= _LOW_16_OF_EVERY_OTHER_LANE
            self._odd &= _LOW_16_OF_EVERY_OTHER_LANE
            self._additions = 0

    def add(self, key: bytes, value: bytes) -> None:
        self._add_vector(*entry_vector(key, value))

    def remove(self, key: bytes, value: bytes) -> None:
        # Lane-wise 2**16 - v is v's additive inverse modulo 2**16 and never borrows across lanes.
        even, odd = entry_vector(key, value)
        self._add_vector(_2_16_IN_EVERY_OTHER_LANE - even, _2_16_IN_EVERY_OTHER_LANE - odd)

    def update(self, key: bytes, old: bytes | None, new: bytes | None) -> None:
        """Replace entry (key, old) by (key, new); None means absent."""
        if old is not None:
            self.remove(key, old)
        if new is not None:
            self.add(key, new)

    def to_bytes(self) -> bytes:
        """The 2048-byte sum (1024 little-endian 16-bit lanes)."""
        even = self._even & _LOW_16_OF_EVERY_OTHER_LANE
        odd = self._odd & _LOW_16_OF_EVERY_OTHER_LANE
        return (even | (odd << 16)).to_bytes(_ELEMENT_BYTES, "little")

    def root(self) -> bytes:
        """The 32-byte state root committed in block headers."""
        return hashlib.sha256(b"corridor/state-root/v1" + self.to_bytes()).digest()
