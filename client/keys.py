"""Keys and addresses for SDK users: make, load and save Ed25519 key files, and read or write `cor1...`
addresses.

A key file is the JSON `corridor keys new` writes (mode 0600): its secret seed, public key and address.
Wherever the SDK asks for an account it takes an `AddressLike`: `cor1...` text, the 20 address bytes, or a
`KeyPair` (its address); wherever it asks for a public key, a `PublicKeyLike`: 32 bytes, 64 hex digits, or
a `KeyPair`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from corridor import keys as _keys
from corridor.client.errors import AddressError, InvalidInput, KeyFileError
from corridor.keys import ADDRESS_BYTES, PUBLIC_KEY_BYTES, KeyPair, address_of, format_address

AddressLike = Union[str, bytes, KeyPair]
PublicKeyLike = Union[str, bytes, KeyPair]

__all__ = [
    "AddressLike", "KeyPair", "PublicKeyLike", "address_bytes", "address_of", "address_text", "format_address",
    "generate_key", "load_key", "parse_address", "public_key_bytes", "save_key",
]


def generate_key() -> KeyPair:
    """A new random Ed25519 key pair (not written anywhere: `save_key` it to keep it)."""
    return KeyPair.generate()


def load_key(path: str | Path) -> KeyPair:
    """Read a key file (as written by `save_key` or `corridor keys new`); raises KeyFileError."""
    try:
        return _keys.load_key(Path(path))
    except _keys.KeyFileError as exc:
        raise KeyFileError(str(exc)) from None


def save_key(key: KeyPair, path: str | Path) -> None:
    """Write `key` to a new file readable only by its owner (mode 0600, fsynced); never overwrites an
    existing file (KeyFileError)."""
    try:
        _keys.save_key(key, Path(path))
    except _keys.KeyFileError as exc:
        raise KeyFileError(str(exc)) from None


def parse_address(text: str) -> bytes:
    """The 20 bytes of a `cor1...` address; raises AddressError naming what is wrong (bad checksum, ...)."""
    try:
        return _keys.parse_address(text)
    except _keys.AddressError as exc:
        raise AddressError(str(exc)) from None


def address_bytes(account: AddressLike) -> bytes:
    """The 20 address bytes of `cor1...` text, of 20 bytes (checked for length) or of a KeyPair."""
    if isinstance(account, KeyPair):
        return account.address
    if isinstance(account, (bytes, bytearray)):
        if len(account) != ADDRESS_BYTES:
            raise AddressError(f"an address is {ADDRESS_BYTES} bytes, not {len(account)}")
        return bytes(account)
    if isinstance(account, str):
        return parse_address(account)
    raise AddressError(f"an address is cor1... text, {ADDRESS_BYTES} bytes or a KeyPair, not {type(account).__name__}")


def address_text(account: AddressLike) -> str:
    """The `cor1...` text of an account given in any AddressLike form (text is checked and lower-cased)."""
    return format_address(address_bytes(account))


def public_key_bytes(key: PublicKeyLike) -> bytes:
    """The 32 bytes of a public key given as bytes, as 64 hex digits or as a KeyPair."""
    if isinstance(key, KeyPair):
        return key.public_key
    value: bytes | None
    if isinstance(key, (bytes, bytearray)):
        value = bytes(key)
    elif isinstance(key, str):
        try:
            value = bytes.fromhex(key)
        except ValueError:
            value = None
    else:
        value = None
    if value is None or len(value) != PUBLIC_KEY_BYTES:
        raise InvalidInput(f"a public key is {PUBLIC_KEY_BYTES} bytes ({2 * PUBLIC_KEY_BYTES} hex digits) or a KeyPair")
    return value
