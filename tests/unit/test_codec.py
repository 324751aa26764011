"""The canonical codec: every value has exactly one encoding, and decode accepts nothing else."""

from __future__ import annotations

import math
import struct

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor import codec
from corridor.codec import INT_MAX, INT_MIN, NESTING_DEPTH_MAX, DecodeError, encode, encode_array_of_encoded

from unit_support import pack, pack_map_pairs

SIZE_MAX = 1 << 20


def _values(depth: int) -> st.SearchStrategy:
    """Canonical values nesting at most `depth` containers deep."""
    scalars = st.none() | st.booleans() | st.integers(INT_MIN, INT_MAX) | st.text(max_size=40) | st.binary(max_size=40)
    if depth == 0:
        return scalars
    inner = _values(depth - 1)
    return scalars | st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


canonical_values = _values(4)


def decode_error(raw: bytes, size_bytes_max: int = SIZE_MAX) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        codec.decode(raw, size_bytes_max)
    return caught.value


# Round trips
@given(canonical_values)
def test_decode_of_encode_is_the_value(value: object) -> None:
    raw = codec.encode(value)
    assert codec.decode(raw, SIZE_MAX) == value
    assert codec.encode(codec.decode(raw, SIZE_MAX)) == raw


@given(canonical_values)
def test_hand_written_msgpack_agrees_with_encode(value: object) -> None:
    # The test writer `pack` is the reference for the non-canonical cases below; it must agree on canonical ones.
    assert pack(value) == codec.encode(value)


def test_map_keys_are_encoded_in_utf8_byte_order_whatever_the_insertion_order() -> None:
    # "é" (c3 a9) sorts after "z" (7a) by UTF-8 bytes; "B" (42) before "a" (61).
    forwards = codec.encode({"a": 1, "B": 2, "z": 3, "é": 4})
    backwards = codec.encode({"é": 4, "z": 3, "B": 2, "a": 1})
    assert forwards == backwards
    assert list(codec.decode(forwards, SIZE_MAX)) == ["B", "a", "z", "é"]


def test_integer_range_boundaries_round_trip() -> None:
    for value in (INT_MIN, -1, 0, 127, 128, 2**32, INT_MAX):
        assert codec.decode(codec.encode(value), SIZE_MAX) == value


@pytest.mark.parametrize(
    "value",
    [1.5, math.nan, math.inf, INT_MAX + 1, INT_MIN - 1, {1: "int key"}, {b"k": "bytes key"}, {"s"}, object(), bytearray(b"x")],
    ids=["float", "nan", "inf", "int_too_big", "int_too_small", "int_key", "bytes_key", "set", "object", "bytearray"],
)
def test_encode_refuses_values_outside_the_canonical_subset(value: object) -> None:
    with pytest.raises(ValueError):
        codec.encode(value)


def test_booleans_stay_booleans_and_are_not_integers() -> None:
    assert codec.encode(True) == b"\xc3" and codec.encode(1) == b"\x01"
    decoded = codec.decode(b"\xc3", SIZE_MAX)
    assert type(decoded) is bool and decoded is True
    assert type(codec.decode(b"\x01", SIZE_MAX)) is int


# Malformed input: each is refused with its code
NON_CANONICAL = {
    "uint8_for_fixint": b"\xcc\x01",
    "uint16_for_uint8": b"\xcd\x00\xff",
    "uint32_for_small": b"\xce\x00\x00\x00\x05",
    "uint64_for_small": b"\xcf" + struct.pack(">Q", 5),
    "int8_for_positive": b"\xd0\x05",
    "int16_for_negative_fixint": b"\xd1\xff\xff",
    "str8_for_fixstr": b"\xd9\x01a",
    "str16_for_fixstr": b"\xda\x00\x01a",
    "bin16_for_bin8": b"\xc5\x00\x01a",
    "array16_for_fixarray": b"\xdc\x00\x01\x01",
    "map16_for_fixmap": b"\xde\x00\x01\xa1a\x01",
    "unsorted_map_keys": pack_map_pairs([(b"\xa1b", b"\x01"), (b"\xa1a", b"\x02")]),
    "unsorted_nested_map_keys": b"\x91" + pack_map_pairs([(b"\xa1z", b"\x01"), (b"\xa1y", b"\x02")]),
    "keys_sorted_by_length_not_bytes": pack_map_pairs([(b"\xa1z", b"\x01"), (b"\xa2aa", b"\x02")]),
    # JavaScript's sort (UTF-16 code units) puts U+10000 before U+FFFF; UTF-8 byte order does not.
    "keys_sorted_as_utf16": pack_map_pairs(
        [(pack("\U00010000"), b"\x01"), (pack("\uffff"), b"\x02")]
    ),
}


@pytest.mark.parametrize("raw", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_non_canonical_bytes_are_refused_as_non_canonical(raw: bytes) -> None:
    msgpack.unpackb(raw, strict_map_key=False)  # the bytes are valid msgpack: only their form is wrong
    assert decode_error(raw).code == "non_canonical"


BAD_ENCODING = {
    "duplicate_map_key": pack_map_pairs([(b"\xa1a", b"\x01"), (b"\xa1a", b"\x02")]),
    "duplicate_map_key_same_value": pack_map_pairs([(b"\xa1a", b"\x01"), (b"\xa1a", b"\x01")]),
    "float64": b"\xcb" + struct.pack(">d", 1.5),
    "float32": b"\xca" + struct.pack(">f", 0.0),
    "float64_nan": b"\xcb" + struct.pack(">d", math.nan),
    "float64_inf": b"\xcb" + struct.pack(">d", math.inf),
    "float_inside_list": b"\x92\x01\xcb" + struct.pack(">d", 2.0),
    "float_inside_map": pack_map_pairs([(b"\xa1a", b"\xcb" + struct.pack(">d", 2.0))]),
    "fixext1": b"\xd4\x05\x00",
    "ext8": b"\xc7\x02\x07ab",
    "ext_inside_map": pack_map_pairs([(b"\xa1a", b"\xd4\x05\x00")]),
    "timestamp32": b"\xd6\xff" + struct.pack(">I", 1_700_000_000),
    "timestamp64": b"\xd7\xff" + struct.pack(">Q", 1 << 34),
    "timestamp96": b"\xc7\x0c\xff" + struct.pack(">Iq", 0, 1_700_000_000),
    "timestamp_inside_list": b"\x91\xd6\xff" + struct.pack(">I", 0),
    "trailing_byte": b"\x01\x02",
    "trailing_nil": codec.encode({"a": 1}) + b"\xc0",
    "truncated_array": b"\x92\x01",
    "truncated_str": b"\xa5abc",
    "truncated_uint32": b"\xce\x00\x00",
    "empty": b"",
    "reserved_byte_c1": b"\xc1",
    "int_map_key": pack_map_pairs([(b"\x01", b"\x02")]),
    "bytes_map_key": pack_map_pairs([(b"\xc4\x01a", b"\x02")]),
    "nil_map_key": pack_map_pairs([(b"\xc0", b"\x02")]),
    "bool_map_key": pack_map_pairs([(b"\xc3", b"\x02")]),
    "list_map_key": pack_map_pairs([(b"\x90", b"\x02")]),
    "invalid_utf8_str": b"\xa1\xff",
    "nested_too_deep": b"\x91" * (NESTING_DEPTH_MAX + 1) + b"\x90",
    "nested_far_too_deep": b"\x91" * 100_000 + b"\x90",
    "nested_maps_too_deep": b"\x81\xa1a" * (NESTING_DEPTH_MAX + 1) + b"\x80",
    # Declared lengths far beyond the input must be refused without allocating for them.
    "array32_of_4g_items": b"\xdd\xff\xff\xff\xff",
    "map32_of_4g_items": b"\xdf\xff\xff\xff\xff",
    "bin32_of_4gb": b"\xc6\xff\xff\xff\xff",
    "str32_of_4gb": b"\xdb\xff\xff\xff\xff",
}


@pytest.mark.parametrize("raw", BAD_ENCODING.values(), ids=BAD_ENCODING.keys())
def test_malformed_bytes_are_refused_as_bad_encoding(raw: bytes) -> None:
    assert decode_error(raw).code == "bad_encoding"


def test_too_large_input_is_refused_before_parsing() -> None:
    raw = codec.encode({"memo": "x" * 100})
    assert codec.decode(raw, len(raw)) == {"memo": "x" * 100}
    assert decode_error(raw, len(raw) - 1).code == "too_large"
    # Even garbage is judged on size first: the refusal does not depend on the content.
    assert decode_error(b"\xc1" * 10, 9).code == "too_large"


def test_nesting_limit_is_the_same_for_encode_and_decode() -> None:
    deepest = []
    for _ in range(NESTING_DEPTH_MAX):
        deepest = [deepest]
    raw = codec.encode(deepest)
    assert codec.decode(raw, SIZE_MAX) == deepest
    with pytest.raises(ValueError):
        codec.encode([deepest])
    assert decode_error(b"\x91" + raw).code == "bad_encoding"


@pytest.mark.parametrize("raw", [b"\xc1", b"\x91" * 100_000 + b"\x90"], ids=["reserved_byte", "stack_overflow"])
def test_every_refusal_says_what_was_wrong(raw: bytes) -> None:
    message = decode_error(raw).message
    assert not message.rstrip().endswith(":"), f"refusal message has no reason: {message!r}"


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_decode_error_only(raw: bytes) -> None:
    # Like h11's fuzzer: any garbage is either decoded canonically or refused with DecodeError, nothing else.
    try:
        value = codec.decode(raw, SIZE_MAX)
    except DecodeError as exc:
        assert exc.code in {"bad_encoding", "non_canonical", "too_large"}
    else:
        assert codec.encode(value) == raw


@given(canonical_values, st.data())
def test_any_single_byte_change_of_an_encoding_is_decoded_canonically_or_refused(value: object, data: st.DataObject) -> None:
    raw = bytearray(codec.encode(value))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]))
    try:
        decoded = codec.decode(bytes(raw), SIZE_MAX)
    except DecodeError:
        return
    assert codec.encode(decoded) == bytes(raw)


@pytest.mark.parametrize("count", [0, 1, 15, 16, 0xFFFF, 0x10000])
def test_an_array_of_encoded_items_is_the_encoding_of_the_list(count: int) -> None:
    items = [i % 300 for i in range(count)]
    assert encode_array_of_encoded([encode(item) for item in items]) == encode(items)
