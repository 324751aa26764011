"""Commit certificates: accepted only with precommits of strictly more than two thirds of the power, for
exactly this chain, height, round and block."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor import codec
from corridor.consensus.certificate import (
    CertificateError,
    CommitCertificate,
    sign_precommit,
    verify_certificate,
)
from corridor.consensus.validators import Validator, ValidatorSet, compute_quorum_power
from corridor.keys import KeyPair

from unit_support import CHAIN_ID, OTHER_CHAIN_ID

KEYS = [KeyPair.from_seed(bytes([i + 1]) * 32) for i in range(4)]
VALIDATORS = ValidatorSet([Validator(f"v{i}", key.public_key, 1) for i, key in enumerate(KEYS)])
OUTSIDER = KeyPair.from_seed(b"\x99" * 32)
HEIGHT, ROUND, BLOCK_HASH = 7, 2, bytes(range(32))


def certificate(signers: list[KeyPair], chain_id: str = CHAIN_ID, height: int = HEIGHT, round_number: int = ROUND,
                block_hash: bytes = BLOCK_HASH) -> CommitCertificate:
    signatures = tuple((k.public_key, sign_precommit(k, chain_id, height, round_number, block_hash)) for k in signers)
    return CommitCertificate(HEIGHT, ROUND, BLOCK_HASH, signatures)


@pytest.mark.parametrize(("total", "quorum"), [(1, 1), (2, 2), (3, 3), (4, 3), (6, 5), (7, 5), (10, 7), (100, 67)])
def test_quorum_is_strictly_more_than_two_thirds(total: int, quorum: int) -> None:
    assert compute_quorum_power(total) == quorum


@given(st.integers(1, 10**12))
def test_quorum_is_the_least_power_above_two_thirds(total: int) -> None:
    quorum = compute_quorum_power(total)
    assert 3 * quorum > 2 * total >= 3 * (quorum - 1)


def test_three_of_four_certify_and_survive_the_wire() -> None:
    cert = certificate(KEYS[:3])
    verify_certificate(cert, VALIDATORS, CHAIN_ID, HEIGHT, BLOCK_HASH)
    again = CommitCertificate.from_bytes(cert.to_bytes())
    assert again == cert
    verify_certificate(again, VALIDATORS, CHAIN_ID, HEIGHT, BLOCK_HASH)


REFUSED = {
    "two_of_four": (lambda: certificate(KEYS[:2]), "power"),
    "none": (lambda: certificate([]), "power"),
    "same_validator_twice": (lambda: certificate([KEYS[0], KEYS[0], KEYS[1]]), "twice"),
    "outsider": (lambda: certificate([*KEYS[:3], OUTSIDER]), "is not a validator"),
    "other_chain": (lambda: certificate(KEYS[:3], chain_id=OTHER_CHAIN_ID), "does not verify"),
    "other_round": (lambda: certificate(KEYS[:3], round_number=ROUND + 1), "does not verify"),
    "other_height": (lambda: certificate(KEYS[:3], height=HEIGHT + 1), "does not verify"),
    "other_block": (lambda: certificate(KEYS[:3], block_hash=bytes(32)), "does not verify"),
}


@pytest.mark.parametrize(("make", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_certificate_without_a_quorum_for_this_block_is_refused(make, reason: str) -> None:
    with pytest.raises(CertificateError, match=reason):
        verify_certificate(make(), VALIDATORS, CHAIN_ID, HEIGHT, BLOCK_HASH)


def test_certificate_for_another_block_or_height_is_refused() -> None:
    cert = certificate(KEYS)
    with pytest.raises(CertificateError):
        verify_certificate(cert, VALIDATORS, CHAIN_ID, HEIGHT + 1, BLOCK_HASH)
    with pytest.raises(CertificateError):
        verify_certificate(cert, VALIDATORS, CHAIN_ID, HEIGHT, bytes(32))


def test_power_is_weighted() -> None:
    heavy = ValidatorSet([Validator("big", KEYS[0].public_key, 7), *(Validator(f"s{i}", KEYS[i].public_key, 1) for i in (1, 2, 3))])
    verify_certificate(certificate([KEYS[0]]), heavy, CHAIN_ID, HEIGHT, BLOCK_HASH)  # 7 of 10
    with pytest.raises(CertificateError):
        verify_certificate(certificate(KEYS[1:]), heavy, CHAIN_ID, HEIGHT, BLOCK_HASH)  # 3 of 10


MALFORMED = {
    "extra_field": lambda d: {**d, "extra": 1},
    "height_as_bool": lambda d: {**d, "height": True},
    "block_hash_as_str": lambda d: {**d, "block_hash": "00"},
    "pair_of_three": lambda d: {**d, "signatures": [[b"k", b"s", b"x"]]},
    "signature_as_str": lambda d: {**d, "signatures": [[KEYS[0].public_key, "sig"]]},
}


@pytest.mark.parametrize("mutate", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_certificate_bytes_are_refused(mutate) -> None:
    doc = codec.decode(certificate(KEYS[:3]).to_bytes(), 1 << 20)
    with pytest.raises(CertificateError):
        CommitCertificate.from_bytes(codec.encode(mutate(doc)))
    with pytest.raises(CertificateError):
        CommitCertificate.from_bytes(certificate(KEYS[:3]).to_bytes() + b"\x00")


@pytest.mark.parametrize(
    "validators",
    [[], [Validator("a", KEYS[0].public_key, 1), Validator("b", KEYS[0].public_key, 1)],
     [Validator("a", KEYS[0].public_key, 0)], [Validator("a", KEYS[0].public_key[:31], 1)]],
    ids=["empty", "duplicate_key", "zero_power", "short_key"],
)
def test_invalid_validator_set_is_refused(validators: list[Validator]) -> None:
    with pytest.raises(ValueError):
        ValidatorSet(validators)
