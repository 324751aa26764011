"""Keys, signatures and addresses: a mistyped address is refused, key files stay private, verify never raises."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.keys import (
    ADDRESS_BYTES,
    AddressError,
    KeyFileError,
    KeyPair,
    address_of,
    format_address,
    load_key,
    parse_address,
    save_key,
    verify_signature,
)

from unit_support import KEYS

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONSTANT = 1
BECH32M_CONSTANT = 0x2BC830A3


# An independent bech32/bech32m writer, straight from BIP-173/BIP-350, to check format_address against and
# to make strings that have a valid checksum but are still not Corridor addresses.
def _ref_polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def _ref_hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _ref_encode(hrp: str, data5: list[int], constant: int = BECH32M_CONSTANT) -> str:
    polymod = _ref_polymod(_ref_hrp_expand(hrp) + data5 + [0] * 6) ^ constant
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data5 + checksum)


def _to_5bit(data: bytes) -> list[int]:
    bits = "".join(f"{byte:08b}" for byte in data)
    bits += "0" * (-len(bits) % 5)
    return [int(bits[i : i + 5], 2) for i in range(0, len(bits), 5)]


def test_reference_writer_reproduces_the_bip350_vector() -> None:
    assert _ref_encode("a", []) == "a1lqfn3a"  # BIP-350 valid bech32m test vector


ALICE = KEYS["alice"]
ALICE_TEXT = ALICE.address_text


# Addresses
@given(st.binary(min_size=ADDRESS_BYTES, max_size=ADDRESS_BYTES))
def test_address_round_trips_and_matches_bip350(address: bytes) -> None:
    text = format_address(address)
    assert text == _ref_encode("cor", _to_5bit(address))
    assert parse_address(text) == address


def test_address_of_a_key_is_the_documented_hash() -> None:
    import hashlib

    expected = hashlib.sha256(b"corridor/address/v1" + ALICE.public_key).digest()[:20]
    assert ALICE.address == address_of(ALICE.public_key) == expected
    assert ALICE_TEXT.startswith("cor1") and len(ALICE_TEXT) == 42


def test_every_single_mistyped_character_is_refused() -> None:
    refused = 0
    for position in range(len("cor1"), len(ALICE_TEXT)):
        for replacement in CHARSET:
            if replacement == ALICE_TEXT[position]:
                continue
            typo = ALICE_TEXT[:position] + replacement + ALICE_TEXT[position + 1 :]
            with pytest.raises(AddressError, match="checksum"):
                parse_address(typo)
            refused += 1
    assert refused == (len(ALICE_TEXT) - 4) * 31


def test_every_swap_of_two_adjacent_characters_is_refused() -> None:
    for position in range(len("cor1"), len(ALICE_TEXT) - 1):
        a, b = ALICE_TEXT[position], ALICE_TEXT[position + 1]
        if a == b:
            continue
        swapped = ALICE_TEXT[:position] + b + a + ALICE_TEXT[position + 2 :]
        with pytest.raises(AddressError):
            parse_address(swapped)


@given(st.binary(min_size=20, max_size=20), st.lists(st.integers(4, 41), min_size=2, max_size=4, unique=True), st.data())
def test_up_to_four_mistyped_characters_are_refused(address: bytes, positions: list[int], data: st.DataObject) -> None:
    text = list(format_address(address))
    for position in positions:
        text[position] = data.draw(st.sampled_from([c for c in CHARSET if c != text[position]]))
    with pytest.raises(AddressError):
        parse_address("".join(text))


def test_upper_case_address_is_accepted_but_mixed_case_is_refused() -> None:
    assert parse_address(ALICE_TEXT.upper()) == ALICE.address
    mixed = ALICE_TEXT[:10] + ALICE_TEXT[10:].upper()
    assert mixed.lower() != mixed and mixed.upper() != mixed
    with pytest.raises(AddressError, match="mixes upper and lower case"):
        parse_address(mixed)


@pytest.mark.parametrize("hrp", ["bc", "co", "corr", "cos", "tcor"])
def test_valid_bech32m_with_another_prefix_is_refused(hrp: str) -> None:
    other = _ref_encode(hrp, _to_5bit(ALICE.address))
    with pytest.raises(AddressError, match="does not start with cor1"):
        parse_address(other)


def test_bech32_checksum_instead_of_bech32m_is_refused() -> None:
    legacy = _ref_encode("cor", _to_5bit(ALICE.address), BECH32_CONSTANT)
    with pytest.raises(AddressError, match="checksum"):
        parse_address(legacy)


@pytest.mark.parametrize("length", [0, 19, 21, 32])
def test_valid_checksum_over_the_wrong_number_of_bytes_is_refused(length: int) -> None:
    text = _ref_encode("cor", _to_5bit(bytes(range(length))))
    with pytest.raises(AddressError):
        parse_address(text)


def test_extra_five_bit_group_is_refused() -> None:
    text = _ref_encode("cor", _to_5bit(ALICE.address) + [0])
    with pytest.raises(AddressError):
        parse_address(text)


@pytest.mark.parametrize(
    "text",
    ["", "cor1", ALICE_TEXT + " ", " " + ALICE_TEXT, ALICE_TEXT.replace("cor1", "cor1b", 1), "cor1" + "q" * 100],
    ids=["empty", "prefix_only", "trailing_space", "leading_space", "char_b_not_in_charset", "too_long"],
)
def test_malformed_address_text_is_refused(text: str) -> None:
    with pytest.raises(AddressError):
        parse_address(text)


@pytest.mark.parametrize("value", [None, 42, ALICE.address], ids=["none", "int", "raw_bytes"])
def test_non_string_address_is_refused_with_address_error(value: object) -> None:
    with pytest.raises(AddressError):
        parse_address(value)  # type: ignore[arg-type]


# Key files
def test_saved_key_file_is_private_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node_key.json"
    save_key(ALICE, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = load_key(path)
    assert loaded.public_key == ALICE.public_key and loaded.address == ALICE.address
    assert json.loads(path.read_text())["address"] == ALICE_TEXT


def test_saving_over_an_existing_key_file_is_refused_and_keeps_the_old_key(tmp_path: Path) -> None:
    path = tmp_path / "node_key.json"
    save_key(ALICE, path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        save_key(KEYS["bob"], path)
    assert path.read_bytes() == before
    assert load_key(path).public_key == ALICE.public_key


def _good_document() -> dict[str, str]:
    return ALICE.to_json()


MALFORMED_KEY_FILES: dict[str, bytes] = {
    "not_json": b"secret",
    "not_utf8": b"\xff\xfe\x00garbage",
    "empty": b"",
    "json_list": b"[1, 2]",
    "json_string": b'"abc"',
    "json_null": b"null",
    "no_seed": json.dumps({k: v for k, v in _good_document().items() if k != "secret_seed"}).encode(),
    "seed_not_hex": json.dumps({**_good_document(), "secret_seed": "zz" * 32}).encode(),
    "seed_not_string": json.dumps({**_good_document(), "secret_seed": 7}).encode(),
    "seed_too_short": json.dumps({**_good_document(), "secret_seed": "00" * 31}).encode(),
    "seed_too_long": json.dumps({**_good_document(), "secret_seed": "00" * 33}).encode(),
    "wrong_type": json.dumps({**_good_document(), "type": "secp256k1"}).encode(),
    "no_type": json.dumps({k: v for k, v in _good_document().items() if k != "type"}).encode(),
    "public_key_mismatch": json.dumps({**_good_document(), "public_key": KEYS["bob"].public_key.hex()}).encode(),
}


@pytest.mark.parametrize("content", MALFORMED_KEY_FILES.values(), ids=MALFORMED_KEY_FILES.keys())
def test_loading_a_malformed_key_file_raises_key_file_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "node_key.json"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        load_key(path)


def test_loading_a_missing_key_file_or_a_directory_raises_key_file_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key(tmp_path / "absent.json")
    with pytest.raises(KeyFileError):
        load_key(tmp_path)


# Signatures
MESSAGE = b"corridor test message"


def test_a_signature_verifies_only_for_its_message_and_key() -> None:
    signature = ALICE.sign(MESSAGE)
    assert verify_signature(ALICE.public_key, MESSAGE, signature) is True
    assert verify_signature(ALICE.public_key, MESSAGE + b"!", signature) is False
    assert verify_signature(KEYS["bob"].public_key, MESSAGE, signature) is False
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert verify_signature(ALICE.public_key, MESSAGE, flipped) is False


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_wrong_length_signature_is_false(length: int) -> None:
    signature = (ALICE.sign(MESSAGE) * 2)[:length]
    assert verify_signature(ALICE.public_key, MESSAGE, signature) is False


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_wrong_length_public_key_is_false(length: int) -> None:
    key = (ALICE.public_key * 2)[:length]
    assert verify_signature(key, MESSAGE, ALICE.sign(MESSAGE)) is False


def test_small_order_and_invalid_public_keys_are_false() -> None:
    signature = ALICE.sign(MESSAGE)
    identity_point = bytes([1]) + bytes(31)
    for key in (bytes(32), identity_point, b"\xff" * 32):
        assert verify_signature(key, MESSAGE, signature) is False


def test_non_canonical_signature_scalar_is_false() -> None:
    # S + L (the group order) verifies under a lax verifier; libsodium refuses it, which stops malleability.
    group_order = 2**252 + 27742317777372353535851937790883648493
    signature = ALICE.sign(MESSAGE)
    s = int.from_bytes(signature[32:], "little") + group_order
    malleated = signature[:32] + s.to_bytes(32, "little")
    assert verify_signature(ALICE.public_key, MESSAGE, malleated) is False


@given(st.binary(max_size=40), st.binary(max_size=70), st.binary(max_size=16))
def test_verify_signature_never_raises(key: bytes, signature: bytes, message: bytes) -> None:
    assert verify_signature(key, message, signature) is False


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64))
def test_verify_signature_never_raises_for_right_lengths(key: bytes, signature: bytes) -> None:
    assert verify_signature(key, MESSAGE, signature) is False


def test_key_pair_from_seed_is_deterministic() -> None:
    seed = bytes(range(32))
    assert KeyPair.from_seed(seed).public_key == KeyPair.from_seed(seed).public_key
    assert KeyPair.from_seed(seed).sign(MESSAGE) == KeyPair.from_seed(seed).sign(MESSAGE)
