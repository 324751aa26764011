"""CLI commands that need no running node: key files, generating a network, starting a node that cannot
start. Errors are one sentence on stderr, never a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess

from corridor.keys import load_key

from .conftest import CORRIDOR, assert_cli_error, run_cli


def test_keys_new_writes_mode_0600_and_never_overwrites(tmp_path) -> None:
    path = tmp_path / "wallet" / "alice.json"  # the folder does not exist yet
    # even with a permissive umask the key file is readable by its owner only
    created = subprocess.run(["sh", "-c", 'umask 000; exec "$0" keys new --out "$1"', str(CORRIDOR), str(path)],
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    address = created.stdout.strip()
    assert address.startswith("cor1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    content = path.read_bytes()
    assert load_key(path).address_text == address

    again = run_cli("keys", "new", "--out", str(path))
    assert_cli_error(again, contains=("already exists",))
    assert path.read_bytes() == content, "the existing key file is untouched"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    shown = json.loads(run_cli("keys", "show", str(path), "--json").stdout)
    assert shown == {"address": address, "public_key": load_key(path).public_key.hex()}
    table = run_cli("keys", "show", str(path))
    assert table.returncode == 0 and address in table.stdout and "secret" not in table.stdout


def test_keys_new_json_and_missing_or_bad_key_files(tmp_path) -> None:
    path = tmp_path / "bob.json"
    document = json.loads(run_cli("keys", "new", "--out", str(path), "--json").stdout)
    assert set(document) == {"address", "public_key", "path"}
    assert document["address"] == load_key(path).address_text
    assert_cli_error(run_cli("keys", "show", str(tmp_path / "missing.json")), contains=("does not exist",))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert_cli_error(run_cli("keys", "show", str(garbage)), contains=("garbage.json",))


def test_testnet_refuses_a_non_empty_folder(tmp_path, port_allocator) -> None:
    out = tmp_path / "net"
    out.mkdir()
    (out / "something").write_text("mine")
    result = run_cli("testnet", "--validators", "1", "--out", str(out), "--currencies", "USD",
                     "--base-port", str(port_allocator.allocate(2)), "--json")
    assert_cli_error(result, contains=("not empty",))
    assert [p.name for p in out.iterdir()] == ["something"]


def test_testnet_json_describes_the_network(tmp_path, port_allocator) -> None:
    base = port_allocator.allocate(4)
    out = tmp_path / "net"
    result = run_cli("testnet", "--validators", "2", "--out", str(out), "--currencies", "USD,JPY",
                     "--base-port", str(base), "--json")
    assert result.returncode == 0, result.stderr
    network = json.loads(result.stdout)
    assert [n["api"] for n in network["nodes"]] == [f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 2}"]
    assert [n["p2p"] for n in network["nodes"]] == [f"127.0.0.1:{base + 1}", f"127.0.0.1:{base + 3}"]
    assert set(network["issuers"]) == {"USD", "JPY"}
    assert len(network["accounts"]) == 4
    genesis = json.loads((out / "node0" / "genesis.json").read_text())
    assert genesis == json.loads((out / "node1" / "genesis.json").read_text())
    assert genesis["chain_id"] == network["chain_id"]
    assert {c["code"]: c["decimals"] for c in genesis["currencies"]} == {"USD": 2, "JPY": 0}
    for path in [*network["issuers"].values(), *network["accounts"]]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_start_without_a_node_home_fails_clearly(tmp_path) -> None:
    result = run_cli("start", "--home", str(tmp_path / "nowhere"), timeout_s=30)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "config.json" in result.stderr


def test_commands_fail_clearly_when_no_node_answers(port_allocator, tmp_path) -> None:
    nowhere = f"http://127.0.0.1:{port_allocator.allocate(1)}"
    for args in (["status"], ["query", "block"], ["query", "tx", "00" * 32]):
        result = run_cli(*args, "--node", nowhere)
        assert_cli_error(result, exit_code=1, contains=("no Corridor node answered",))
    key = tmp_path / "k.json"
    run_cli("keys", "new", "--out", str(key))
    result = run_cli("tx", "transfer", "--key", str(key), "--to", load_key(key).address_text, "--amount", "1",
                     "--currency", "USD", "--node", nowhere)
    assert_cli_error(result, exit_code=1, contains=("no Corridor node answered",))
