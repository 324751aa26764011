"""The one canonical encoding of every signed or hashed object: a strict subset of msgpack.

Canonical form (docs/protocol.md, "Encoding"):
- values are None, bool, int (-2**63 .. 2**64-1), str (UTF-8), bytes, list, or map with str keys;
- integers use msgpack's smallest form, str is `str`, bytes are `bin`;
- map keys are sorted by their UTF-8 bytes and appear once;
- no floats, no ext types (msgpack's Timestamp included), no trailing bytes.

Decoding accepts exactly the bytes that `encode` would produce for the decoded value: anything else is a
`DecodeError`, raised with a sentence that says what was wrong.
"""

from __future__ import annotations

from typing import Any

import msgpack

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
NESTING_DEPTH_MAX = 16


class DecodeError(ValueError):
    """Bytes that are not the canonical encoding of a value; `code` is the stable refusal code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _canonical(value: Any, depth: int = 0) -> Any:
    """Return `value` with maps rebuilt in key order, after checking that every part is encodable."""
    if depth > NESTING_DEPTH_MAX:
        raise ValueError("value nests deeper than the canonical encoding allows")
    if value is None or type(value) is bool or type(value) is str or type(value) is bytes:
        return value
    if type(value) is int:
        if not INT_MIN <= value <= INT_MAX:
            raise ValueError(f"integer {value} is outside the 64-bit range")
        return value
    if type(value) in (list, tuple):
        return [_canonical(item, depth + 1) for item in value]
    if type(value) is dict:
        for key in value:
            if type(key) is not str:
                raise ValueError(f"map key {key!r} is not a string")
        return {key: _canonical(value[key], depth + 1) for key in sorted(value, key=lambda k: k.encode())}
    raise ValueError(f"type {type(value).__name__} has no canonical encoding")


def encode(value: Any) -> bytes:
    """Encode `value` canonically. Raises ValueError for values outside the canonical subset (floats...)."""
    if type(value) is int and INT_MIN <= value <= INT_MAX:
        return msgpack.packb(value)  # most state values (balances, nonces): nothing to rebuild
    return msgpack.packb(_canonical(value), use_bin_type=True)


def encode_array_of_encoded(items: list[bytes] | tuple[bytes, ...]) -> bytes:
    """The canonical encoding of a list whose items are given already encoded (canonically): the
    array header, then the items' bytes, as encode(list of the decoded items) would produce."""
    count = len(items)
    if count <= 0x0F:
        header = bytes([0x90 | count])
    elif count <= 0xFFFF:
        header = b"\xdc" + count.to_bytes(2, "big")
    else:
        header = b"\xdd" + count.to_bytes(4, "big")
    return header + b"".join(items)


def _reject_ext(code: int, data: bytes) -> Any:
    raise DecodeError("bad_encoding", f"msgpack extension type {code} is not allowed")


def _sorted_unique_pairs(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    """A decoded map, refused unless its keys are strings in canonical (strictly increasing) order.

    Checking the order here, as the map is read, lets `decode` confirm canonical form by packing the
    decoded value as it is, without rebuilding every map in sorted order first."""
    result: dict[str, Any] = {}
    previous = b""
    for index, (key, value) in enumerate(pairs):
        if type(key) is not str:
            raise DecodeError("bad_encoding", f"map key {key!r} is not a string")
        if key in result:
            raise DecodeError("bad_encoding", f"map key {key!r} appears twice")
        encoded = key.encode()
        if index and encoded < previous:
            raise DecodeError("non_canonical", "bytes are not in canonical form (map keys out of order)")
        previous = encoded
        result[key] = value
    return result


_SCALAR_TYPES = (type(None), bool, int, str, bytes)


def _check_types(value: Any, depth: int = 0) -> None:
    if depth > NESTING_DEPTH_MAX:
        raise DecodeError("bad_encoding", "value nests too deeply")
    if type(value) is list:
        for item in value:
            _check_types(item, depth + 1)
    elif type(value) is dict:
        for item in value.values():
            _check_types(item, depth + 1)
    elif type(value) is float:
        raise DecodeError("bad_encoding", "floating-point numbers are not allowed")
    elif type(value) not in _SCALAR_TYPES:
        raise DecodeError("bad_encoding", f"msgpack {type(value).__name__} values are not allowed")


def decode_stored(raw: bytes) -> Any:
    """Decode bytes this node encoded itself and kept in its own database (state values): they are
    canonical by construction, so the strict checks `decode` makes on bytes from outside are skipped."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


def decode(raw: bytes, size_bytes_max: int) -> Any:
    """Decode canonical bytes; raise DecodeError (code `too_large`, `bad_encoding` or `non_canonical`)."""
    if len(raw) > size_bytes_max:
        raise DecodeError("too_large", f"encoded object is {len(raw)} bytes, more than the {size_bytes_max} allowed")
    try:
        value = msgpack.unpackb(
            raw,
            raw=False,
            strict_map_key=True,
            use_list=True,
            object_pairs_hook=_sorted_unique_pairs,
            ext_hook=_reject_ext,
            timestamp=0,
        )
    except DecodeError:
        raise
    except msgpack.ExtraData as exc:
        raise DecodeError("bad_encoding", "trailing bytes after the encoded object") from exc
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        raise DecodeError("bad_encoding", f"not valid msgpack: {str(exc) or type(exc).__name__}") from exc
    _check_types(value)
    # Maps are already known to be in key order, so packing the value as decoded gives the canonical form.
    if msgpack.packb(value, use_bin_type=True) != raw:
        raise DecodeError("non_canonical", "bytes are not in canonical form (integer or length width)")
    return value
