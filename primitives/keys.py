"""Ed25519 keys, signatures and Corridor addresses.

An address is the first 20 bytes of SHA-256("corridor/address/v1" || public key), written for people as
bech32m (BIP-350) with the human-readable part "cor": `cor1...`. The bech32m checksum detects any error in
up to 4 characters, so a mistyped address is rejected instead of receiving money (docs/protocol.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.signing

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
ADDRESS_BYTES = 20
ADDRESS_PREFIX = "cor"
_ADDRESS_DOMAIN = b"corridor/address/v1"
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONSTANT = 0x2BC830A3


class AddressError(ValueError):
    """A string that is not a valid Corridor address."""


def address_of(public_key: bytes) -> bytes:
    """The 20-byte account address derived from an Ed25519 public key."""
    assert len(public_key) == PUBLIC_KEY_BYTES
    return hashlib.sha256(_ADDRESS_DOMAIN + public_key).digest()[:ADDRESS_BYTES]


def _polymod(values: list[int]) -> int:
    generators = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                checksum ^= generators[bit]
    return checksum


def _expand_prefix(prefix: str) -> list[int]:
    return [ord(c) >> 5 for c in prefix] + [0] + [ord(c) & 31 for c in prefix]


def _regroup_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int] | None:
    accumulator, bits, result = 0, 0, []
    mask = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            result.append((accumulator >> bits) & mask)
    if pad and bits:
        result.append((accumulator << (to_bits - bits)) & mask)
    elif not pad and (bits >= from_bits or (accumulator << (to_bits - bits)) & mask):
        return None
    return result


@functools.lru_cache(maxsize=65_536)
def format_address(address: bytes) -> str:
    """The bech32m text form (`cor1...`) of a 20-byte address (cached: the checksum costs ~20 µs in Python,
    and the same accounts appear in receipt after receipt)."""
    assert len(address) == ADDRESS_BYTES
    data = _regroup_bits(address, 8, 5, pad=True)
    assert data is not None
    polymod = _polymod(_expand_prefix(ADDRESS_PREFIX) + data + [0] * 6) ^ _BECH32M_CONSTANT
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return ADDRESS_PREFIX + "1" + "".join(_BECH32_CHARSET[d] for d in data + checksum)


def parse_address(text: str) -> bytes:
    """The 20-byte address written as `text`; raises AddressError with the reason when it is not one."""
    if not isinstance(text, str) or len(text) > 90:
        raise AddressError("an address is a string of at most 90 characters")
    if text.lower() != text and text.upper() != text:
        raise AddressError(f"address {text!r} mixes upper and lower case")
    text = text.lower()
    prefix, separator, rest = text.rpartition("1")
    if not separator or prefix != ADDRESS_PREFIX:
        raise AddressError(f"address {text!r} does not start with {ADDRESS_PREFIX}1")
    if any(c not in _BECH32_CHARSET for c in rest):
        raise AddressError(f"address {text!r} contains characters that are not bech32")
    if len(rest) < 7:
        raise AddressError(f"address {text!r} is too short")
    data = [_BECH32_CHARSET.index(c) for c in rest]
    if _polymod(_expand_prefix(prefix) + data) != _BECH32M_CONSTANT:
        raise AddressError(f"address {text!r} has a bad checksum (mistyped?)")
    decoded = _regroup_bits(data[:-6], 5, 8, pad=False)
    if decoded is None or len(decoded) != ADDRESS_BYTES:
        raise AddressError(f"address {text!r} does not hold {ADDRESS_BYTES} bytes")
    return bytes(decoded)


verification_counts = [0, 0]  # [performed, failed] in this process, exported by corridor.node.metrics


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `message` by `public_key`; never raises.

    libsodium's rules apply (canonical S, no small-order keys); a wrong-length key or signature is False.
    """
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    verification_counts[0] += 1
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
        verification_counts[1] += 1
        return False
    return True


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 signing key with its public key and address."""

    signing_key: nacl.signing.SigningKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """A key pair derived from a 32-byte seed (tests and deterministic fixtures only)."""
        return cls(nacl.signing.SigningKey(seed))

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)

    @property
    def address_text(self) -> str:
        return format_address(self.address)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte detached signature of `message`."""
        return self.signing_key.sign(message).signature

    def to_json(self) -> dict[str, str]:
        return {
            "type": "ed25519",
            "secret_seed": bytes(self.signing_key).hex(),
            "public_key": self.public_key.hex(),
            "address": self.address_text,
        }


class KeyFileError(ValueError):
    """A key file that is missing, unreadable or malformed."""


def save_key(key: KeyPair, path: Path) -> None:
    """Write `key` to a new file readable only by its owner; refuses to overwrite an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key file") from exc
    with os.fdopen(descriptor, "w") as handle:
        json.dump(key.to_json(), handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_key(path: Path) -> KeyPair:
    """Read a key file written by `save_key`; raises KeyFileError with the reason when it cannot."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {path} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"key file {path} is not readable JSON: {exc}") from exc
    try:
        seed = bytes.fromhex(document["secret_seed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"key file {path} has no valid 'secret_seed'") from exc
    if document.get("type") != "ed25519" or len(seed) != 32:
        raise KeyFileError(f"key file {path} is not an Ed25519 key")
    key = KeyPair.from_seed(seed)
    if document.get("public_key", key.public_key.hex()) != key.public_key.hex():
        raise KeyFileError(f"key file {path}: public_key does not match the secret seed")
    return key
