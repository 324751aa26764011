"""The `corridor` command: keys, local networks, running a node, transactions and queries.

Commands are thin: parse, call the library or the node's API, render. Tables for people by default, exact
JSON with --json (the stable contract for scripts). Exit codes: 0 done, 1 failure (node unreachable, bad
file...), 2 usage error, 3 the chain refused the transaction.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console
from rich.table import Table

from corridor.client import ApiError, Client, NodeUnreachable  # the SDK's sync client: every HTTP call goes through it
from corridor.client.errors import InvalidInput
from corridor.client.proposal import Proposal, ProposalFileError, chain_decimals, create_governance, create_swap
from corridor.keys import AddressError, KeyFileError, KeyPair, load_key, parse_address, save_key
from corridor.ledger.amounts import AmountError, format_amount, format_price, parse_amount, parse_price
from corridor.ledger.genesis import GenesisError
from corridor.ledger.limits import RESERVE_MAX_AGE_MS_DEFAULT
from corridor.ledger.store import StoreError
from corridor.ledger.tx import TxError
from corridor.node.config import ConfigError
from corridor.node.testnet import DEFAULT_CURRENCIES, NETWORK_FILE, create_testnet

DEFAULT_DEVNET_HOME = Path(".corridor-devnet")
DEFAULT_BASE_PORT = 26650
console = Console()


class RefusedError(click.ClickException):
    """The chain refused the transaction (exit code 3)."""

    exit_code = 3


def default_node_url() -> str:
    """CORRIDOR_NODE, else the first node of the local devnet, else the default local API port."""
    if os.environ.get("CORRIDOR_NODE"):
        return os.environ["CORRIDOR_NODE"]
    try:
        network = json.loads((DEFAULT_DEVNET_HOME / NETWORK_FILE).read_text())
        return network["nodes"][0]["api"]
    except (OSError, ValueError, KeyError, IndexError):
        return f"http://127.0.0.1:{DEFAULT_BASE_PORT}"


def node_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--node",
        "node_url",
        metavar="URL",
        default=default_node_url,
        show_default="$CORRIDOR_NODE, else the local devnet's first node",
        help="API URL of the node to talk to.",
    )(function)


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print exact JSON instead of a table.")(function)


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def print_fields(title: str, fields: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for name, value in fields.items():
        table.add_row(name, value if isinstance(value, str) else json.dumps(value))
    console.print(table)


def guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's expected errors into one clear sentence on stderr and a non-zero exit code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ApiError as exc:
            if exc.status in (409, 422, 429, 503):
                raise RefusedError(f"refused ({exc.code}): {exc.message}") from None
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        except (NodeUnreachable, KeyFileError, AmountError, AddressError, TxError, ConfigError, GenesisError, StoreError, ProposalFileError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


EXIT_CODES = {  # docs/operations.md lists them too; tests/e2e/test_operations.py pins both
    0: "done",
    1: "error: no node answered, bad input (file, amount, address), another error answer, invalid proof",
    2: "usage error: an unknown command or option, a missing or malformed argument",
    3: "refused by the chain (the node answered 409, 422, 429 or 503): the message has the code",
}
EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items()) + (
    "\n\n\b\nShell completion (bash; zsh_source and fish_source for the others; docs/operations.md):\n"
    '  eval "$(_CORRIDOR_COMPLETE=bash_source corridor)"')


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(package_name="corridor")
def cli() -> None:
    """Corridor: a permissioned chain for a consortium of stablecoin issuers."""


# keys -----------------------------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Create and inspect Ed25519 key files."""


@keys.command("new")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the key file.")
@json_option
@guarded
def keys_new(out: Path, as_json: bool) -> None:
    """Write a new key file (mode 0600; never overwrites) and print its address."""
    key = KeyPair.generate()
    save_key(key, out)
    if as_json:
        print_json({"address": key.address_text, "public_key": key.public_key.hex(), "path": str(out)})
    else:
        click.echo(key.address_text)


@keys.command("show")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@guarded
def keys_show(path: Path, as_json: bool) -> None:
    """Print the address and public key of a key file."""
    key = load_key(path)
    document = {"address": key.address_text, "public_key": key.public_key.hex()}
    if as_json:
        print_json(document)
    else:
        print_fields(str(path), document)


# networks -------------------------------------------------------------------------------------------------


def parse_currencies(text: str) -> list[str]:
    codes = [code.strip().upper() for code in text.split(",") if code.strip()]
    if not codes or len(set(codes)) != len(codes):
        raise click.BadParameter("give distinct currency codes separated by commas, e.g. USD,EUR,JPY")
    return codes


@cli.command()
@click.option("--validators", type=click.IntRange(1, 32), default=4, show_default=True, help="Number of validators.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to create.")
@click.option("--currencies", default=",".join(DEFAULT_CURRENCIES), show_default=True, help="Currency codes.")
@click.option("--base-port", type=click.IntRange(1024, 65000), default=DEFAULT_BASE_PORT, show_default=True,
              help="Node i serves its API on base+2i and peers on base+2i+1.")
@json_option
@guarded
def testnet(validators: int, out: Path, currencies: str, base_port: int, as_json: bool) -> None:
    """Write a local network: node homes, issuer keys, funded demo accounts and one genesis."""
    try:
        network = create_testnet(out, validators, parse_currencies(currencies), base_port)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        print_json(network.to_json())
        return
    table = Table(title=f"network {network.chain_id} in {out}", title_justify="left")
    for column in ("node", "home", "api", "p2p"):
        table.add_column(column)
    for index, node in enumerate(network.nodes):
        table.add_row(f"node{index}", node["home"], node["api"], node["p2p"])
    console.print(table)
    for code, path in network.issuers.items():
        console.print(f"issuer of {code}: {path}")
    for code, path in network.auditors.items():
        console.print(f"reserve auditor of {code}: {path}")
    console.print(f"demo accounts: {', '.join(network.accounts)}")


@cli.command()
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), required=True, help="The node's home folder.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info", show_default=True)
@guarded
def start(home: Path, log_level: str) -> None:
    """Run one node in the foreground until SIGINT or SIGTERM."""
    from corridor.node.server import serve

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        asyncio.run(serve(home))
    except OSError as exc:
        raise click.ClickException(f"cannot start the node: {exc.strerror or exc}") from None


@cli.command()
@click.option("--validators", type=click.IntRange(1, 16), default=4, show_default=True, help="Number of validators.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DEVNET_HOME, show_default=True)
@click.option("--base-port", type=click.IntRange(1024, 65000), default=DEFAULT_BASE_PORT, show_default=True)
@click.option("--no-demo", is_flag=True, help="Start the network but send no demo payments.")
@click.option("--fresh", is_flag=True, help="Delete an existing network in --home and create a new one.")
@click.option("--duration", type=click.FloatRange(min=1), default=None, help="Stop after this many seconds.")
@guarded
def devnet(validators: int, home: Path, base_port: int, no_demo: bool, fresh: bool, duration: float | None) -> None:
    """Create (or reuse) a local network, start every node, run a demo workload and show it live."""
    from corridor.cli.devnet import run_devnet

    run_devnet(home, validators, base_port, demo=not no_demo, fresh=fresh, console=console, duration_s=duration)


# transactions ---------------------------------------------------------------------------------------------


def submit_and_render(client: Client, key: KeyPair, type_name: str, fields: dict[str, Any], wait: bool, as_json: bool) -> None:
    tx = client.prepare(key, type_name, fields)
    render_submission(client.submit(tx, wait=wait), type_name, wait, as_json)


def render_submission(result: dict[str, Any], type_name: str, wait: bool, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    if wait:
        receipt = result["receipt"]
        print_fields(
            f"{type_name} final",
            {"hash": result["hash"], "height": str(receipt["height"]), "index": str(receipt["index"]),
             "code": receipt["code"], "events": receipt["events"]},
        )
    else:
        print_fields(f"{type_name} admitted (not final yet)", {"hash": result["hash"]})


def amount_in(client: Client, currency: str, amount: str) -> int:
    return client.to_minor(amount, currency)


def tx_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--wait", is_flag=True, help="Return only when the transaction is final or refused.")(function)
    function = json_option(function)
    function = node_option(function)
    return click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help="Key file of the signer.")(function)


def travel_rule_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--travel-rule", "travel_rule_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                        help="The travel-rule payload (originator and beneficiary data, kept off chain); its SHA-256 goes on chain.")(function)


def travel_rule_hash(path: Path | None) -> bytes:
    from corridor.hashing import sha256

    return sha256(path.read_bytes()) if path is not None else b""


@cli.group()
def tx() -> None:
    """Sign and submit transactions."""


@tx.command("transfer")
@tx_options
@click.option("--to", required=True, help="Recipient address (cor1...).")
@click.option("--amount", required=True, help="Decimal amount in major units, e.g. 12.50.")
@click.option("--currency", required=True, help="Currency code, e.g. USD.")
@click.option("--memo", default="", help="Free text for the recipient (at most 256 bytes).")
@travel_rule_option
@guarded
def tx_transfer(key_path: Path, node_url: str, as_json: bool, wait: bool, to: str, amount: str, currency: str, memo: str,
                travel_rule_path: Path | None) -> None:
    """Pay AMOUNT of CURRENCY to an address."""
    client, key = Client(node_url), load_key(key_path)
    fields = {"to": parse_address(to), "currency": currency.upper(), "amount_minor": amount_in(client, currency.upper(), amount), "memo": memo,
              "travel_rule_hash": travel_rule_hash(travel_rule_path)}
    submit_and_render(client, key, "transfer", fields, wait, as_json)


@tx.command("mint")
@tx_options
@click.option("--to", required=True, help="Account receiving the new coins (cor1...).")
@click.option("--amount", required=True, help="Decimal amount in major units.")
@click.option("--currency", required=True, help="Currency code; --key must be its issuer.")
@guarded
def tx_mint(key_path: Path, node_url: str, as_json: bool, wait: bool, to: str, amount: str, currency: str) -> None:
    """Issuer only: create new coins, never above the latest attested reserve."""
    client, key = Client(node_url), load_key(key_path)
    fields = {"to": parse_address(to), "currency": currency.upper(), "amount_minor": amount_in(client, currency.upper(), amount)}
    submit_and_render(client, key, "mint", fields, wait, as_json)


@tx.command("burn")
@tx_options
@click.option("--amount", required=True, help="Decimal amount in major units.")
@click.option("--currency", required=True, help="Currency code.")
@guarded
def tx_burn(key_path: Path, node_url: str, as_json: bool, wait: bool, amount: str, currency: str) -> None:
    """Redeem: destroy the signer's own coins; the currency's supply falls."""
    client, key = Client(node_url), load_key(key_path)
    fields = {"currency": currency.upper(), "amount_minor": amount_in(client, currency.upper(), amount)}
    submit_and_render(client, key, "burn", fields, wait, as_json)


def parse_time_ms(text: str | None) -> int:
    """Milliseconds since 1970 from an integer or an ISO 8601 time with a zone (2026-01-31T17:00:00Z); now when None."""
    import time
    from datetime import datetime

    if text is None:
        return int(time.time() * 1000)
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise click.BadParameter("give milliseconds since 1970 or an ISO 8601 time with its zone, e.g. 2026-01-31T17:00:00Z")
    return int(moment.timestamp() * 1000)


@tx.command("attest-reserve")
@tx_options
@click.option("--reserve", required=True, help="The reserve backing the currency, in major units.")
@click.option("--currency", required=True, help="Currency code; --key must be its auditor (not its issuer).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="The auditor's report; its SHA-256 is recorded on chain.")
@click.option("--as-of", "as_of", default=None, metavar="TIME",
              help="When the reserve figure is as of: ms since 1970 or ISO 8601 with a zone. [default: now]")
@guarded
def tx_attest_reserve(key_path: Path, node_url: str, as_json: bool, wait: bool, reserve: str, currency: str, report_path: Path,
                      as_of: str | None) -> None:
    """Auditor only: record the reserve backing a currency, as of a time, and the hash of the report. Minting
    is bounded by it, and stops once it is older than the currency's maximum age."""
    from corridor.hashing import sha256

    client, key = Client(node_url), load_key(key_path)
    fields = {"currency": currency.upper(), "reserve_minor": amount_in(client, currency.upper(), reserve),
              "report_hash": sha256(report_path.read_bytes()), "reserve_as_of_ms": parse_time_ms(as_of)}
    submit_and_render(client, key, "attest_reserve", fields, wait, as_json)


# issuer controls ------------------------------------------------------------------------------------------


@cli.group()
def issuer() -> None:
    """A currency issuer's controls: supply, allow-list, freezes, clawback, pause, licences."""


issuer.add_command(tx_mint, "mint")
issuer.add_command(tx_burn, "burn")


@cli.group()
def auditor() -> None:
    """A currency's reserve auditor (named by governance, never the issuer): attests the reserve minting is bounded by."""


auditor.add_command(tx_attest_reserve, "attest")


def issuer_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--currency", required=True, help="Currency code; --key must be its issuer.")(function)
    return tx_options(function)


def reason_hash(reason: str) -> bytes:
    from corridor.hashing import sha256

    return sha256(reason.encode())


def order_document_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The lawful order a seizure executes (ledger/orders.py): who issued it, its document, its expiry."""
    function = click.option("--order-expires", "order_expires", default=None, metavar="TIME",
                            help="When the order expires: ms since 1970 or ISO 8601 with a zone. [default: none stated]")(function)
    function = click.option("--order-hash", "order_hash_hex", default=None, metavar="HEX",
                            help="The order document's SHA-256 (64 hex digits), instead of --order.")(function)
    function = click.option("--order", "order_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                            help="The order document (kept off chain); its SHA-256 goes on chain.")(function)
    return click.option("--authority", default=None,
                        help='Who issued the lawful order, e.g. "US District Court SDNY", "OFAC", "HKMA".')(function)


def order_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The order, and the compliance keys approving it: with --approver the command writes a file (--out) for
    them to sign (`corridor compliance sign`) instead of submitting."""
    function = click.option("--out", "approval_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                            help="With --approver: where to write the transaction for the approvers to sign.")(function)
    function = click.option("--approver", "approvers", multiple=True, metavar="PUBLIC_KEY",
                            help="A compliance key (64 hex digits) that approves; repeat for each (the currency's threshold).")(function)
    return order_document_options(function)


def order_fields(options: dict[str, Any], seizure: str | None) -> dict[str, Any]:
    """The order fields from the options of order_document_options; `seizure` names an action that needs them
    (None: lifting one, where they may be left out)."""
    from corridor.hashing import sha256

    authority, path, hash_hex, expires = (options.get(name) for name in ("authority", "order_path", "order_hash_hex", "order_expires"))
    if path is not None and hash_hex is not None:
        raise click.UsageError("give --order or --order-hash, not both")
    if seizure is not None and (not authority or (path is None and hash_hex is None)):
        raise click.UsageError(f"a {seizure} executes a lawful order: give --authority and --order (or --order-hash)")
    digest = b""
    if path is not None:
        digest = sha256(path.read_bytes())
    elif hash_hex is not None:
        try:
            digest = bytes.fromhex(hash_hex)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise click.BadParameter("the order's SHA-256 is 64 hexadecimal digits", param_hint="--order-hash")
    return {"order_authority": authority or "", "order_hash": digest, "order_expiry_ms": parse_time_ms(expires) if expires else 0}


def public_keys(texts: tuple[str, ...] | list[str], option: str) -> list[bytes]:
    """Public keys given as hex, sorted as the chain wants them."""
    keys = []
    for text in texts:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise click.BadParameter(f"{text!r} is not a public key (64 hex digits; corridor keys show)", param_hint=option)
        keys.append(key)
    if len(set(keys)) != len(keys):
        raise click.BadParameter("a key is named twice", param_hint=option)
    return sorted(keys)


def submit_or_propose(client: Client, key: KeyPair, type_name: str, fields: dict[str, Any], options: dict[str, Any], wait: bool,
                      as_json: bool) -> None:
    """Submit a transaction `key` alone signs; when it names approvers (--approver), write it to --out for them
    to sign with `corridor compliance sign` and submit with `corridor compliance submit`."""
    approvers = public_keys(options.get("approvers") or (), "--approver")
    if not approvers:
        if options.get("approval_out") is not None:
            raise click.UsageError("--out is for a transaction compliance keys approve: name them with --approver")
        submit_and_render(client, key, type_name, {**fields, "approvers": []}, wait, as_json)
        return
    out = options.get("approval_out")
    if out is None:
        raise click.UsageError("with --approver, give --out: the file the approvers sign (corridor compliance sign)")
    proposal = client.builder().propose(key, type_name, {**fields, "approvers": approvers}, nonce=client.next_nonce(key.address_text))
    proposal.save(out)
    if as_json:
        print_json(proposal_document(proposal, out))
        return
    click.echo(proposal.describe(chain_decimals(client)))
    click.echo(f"written to {out}; each approver signs it with: corridor compliance sign {out} --key COMPLIANCE_KEY, "
               f"then: corridor compliance submit {out} --wait")


def _issuer_account_command(name: str, type_name: str, enabled: bool, help_text: str, with_reason: bool = False,
                            with_order: bool = False) -> None:
    @issuer_options
    @click.option("--account", required=True, help="The account concerned (cor1...).")
    @guarded
    def command(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, account: str, **extra: Any) -> None:
        client, key = Client(node_url), load_key(key_path)
        fields: dict[str, Any] = {"currency": currency.upper(), "account": parse_address(account), "enabled": enabled}
        if with_reason:
            fields["reason_hash"] = reason_hash(extra["reason"])
        if with_order:  # a freeze executes a lawful order (ledger/orders.py)
            fields.update(order_fields(extra, "freeze"))
            submit_or_propose(client, key, type_name, fields, extra, wait, as_json)
            return
        if extra.get("jurisdiction") is not None:  # authorize --jurisdiction (ledger/corridors.py)
            authorize_with_jurisdiction(client, key, fields, extra["jurisdiction"], wait, as_json)
            return
        submit_and_render(client, key, type_name, fields, wait, as_json)

    command.__doc__ = help_text
    if name == "authorize":
        command = click.option("--jurisdiction", default=None, help="Also record the account's jurisdiction for the currency "
                               "(ISO 3166-1 alpha-2 or EU; a set_jurisdiction after the authorisation).")(command)
    if with_order:
        command = order_options(command)
    if with_reason:
        command = click.option("--reason", required=True, help="Why (the order or case reference); its SHA-256 goes on chain.")(command)
    issuer.command(name)(command)


_issuer_account_command("authorize", "set_authorization", True, "Allow an account to hold an allow-list currency.")
_issuer_account_command("deauthorize", "set_authorization", False, "Remove an account from the currency's allow-list.")
_issuer_account_command("freeze", "set_frozen", True, "Freeze an account under a lawful order: it can neither send nor receive the "
                        "currency. With compliance keys required, name the approvers (--approver ... --out FILE).",
                        with_reason=True, with_order=True)
_issuer_account_command("unfreeze", "set_frozen", False, "Lift a freeze.", with_reason=True)
_issuer_account_command("license", "set_distributor", True,
                        "License an account as a distributor of the currency (legacy: a distribute licence with no "
                        "jurisdiction and no expiry; prefer grant-licence).")
_issuer_account_command("revoke", "set_distributor", False,
                        "Withdraw an account's distribute licence (legacy: the record is deleted; prefer revoke-licence, "
                        "which keeps it with the reason).")


def _issuer_seizure_command(name: str, tx_type: str, order_label: str, account_help: str, help_text: str) -> None:
    """An issuer command that takes `--amount` of a frozen account's coins under a lawful order."""

    @issuer_options
    @click.option("--account", required=True, help=account_help)
    @click.option("--amount", required=True, help="Decimal amount in major units.")
    @click.option("--reason", required=True, help="Why (the order or case reference); its SHA-256 goes on chain.")
    @order_options
    @guarded
    def command(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, account: str, amount: str, reason: str,
                **order: Any) -> None:
        client, key = Client(node_url), load_key(key_path)
        fields = {"currency": currency.upper(), "account": parse_address(account),
                  "amount_minor": amount_in(client, currency.upper(), amount), "reason_hash": reason_hash(reason),
                  **order_fields(order, order_label)}
        submit_or_propose(client, key, tx_type, fields, order, wait, as_json)

    command.__doc__ = help_text
    issuer.command(name)(command)


_issuer_seizure_command("clawback", "clawback", "clawback", "The frozen account to take coins from (cor1...).",
                        "Move coins of a frozen account back to the issuer, under a lawful order (--authority, --order).")


def _issuer_pause_command(name: str, enabled: bool, help_text: str) -> None:
    @issuer_options
    @guarded
    def command(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str) -> None:
        submit_and_render(Client(node_url), load_key(key_path), "set_paused", {"currency": currency.upper(), "enabled": enabled}, wait, as_json)

    command.__doc__ = help_text
    issuer.command(name)(command)


_issuer_pause_command("pause", True, "Pause the currency: nothing in it moves (transfers, mints, burns, swaps, offers, payments, clawbacks) until it is resumed.")
_issuer_pause_command("unpause", False, "Resume a paused currency.")


@issuer.command("policy")
@issuer_options
@click.option("--max-transfer", default=None, help="Largest single payment in major units (0: no cap). [default: unchanged]")
@click.option("--travel-rule-threshold", default=None,
              help="Above this amount a payment must carry a travel-rule hash (0: never). [default: unchanged]")
@click.option("--distributors-only/--open-distribution", default=None,
              help="Only licensed distributors receive new coins and redeem. [default: unchanged]")
@guarded
def issuer_policy(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, max_transfer: str | None,
                  travel_rule_threshold: str | None, distributors_only: bool | None) -> None:
    """Change the currency's payment cap, travel-rule threshold or distribution model; what is not given
    stays as it is."""
    client, key = Client(node_url), load_key(key_path)
    code = currency.upper()
    info = client.currency(code)
    decimals = info["decimals"]
    fields = {
        "currency": code,
        "transfer_max_minor": info["transfer_max_minor"] if max_transfer is None else parse_amount(max_transfer, decimals),
        "travel_rule_threshold_minor": info["travel_rule_threshold_minor"] if travel_rule_threshold is None else parse_amount(travel_rule_threshold, decimals),
        "distributors_only": info["distributors_only"] if distributors_only is None else distributors_only,
    }
    submit_and_render(client, key, "set_policy", fields, wait, as_json)


# the licence registry (ledger/licences.py) -----------------------------------------------------------------

LICENCE_SCOPE_HELP = ("distribute: receive new coins and redeem under --distributors-only; "
                      "exchange: place offers in the currency once it requires exchange licences.")


def scope_option(function: Callable[..., Any]) -> Callable[..., Any]:
    from corridor.ledger.tx import LICENCE_SCOPES

    return click.option("--scope", required=True, type=click.Choice(LICENCE_SCOPES), help=LICENCE_SCOPE_HELP)(function)


@issuer.command("grant-licence")
@issuer_options
@click.option("--account", required=True, help="The account licensed (cor1...).")
@scope_option
@click.option("--jurisdiction", required=True, help="The licensing jurisdiction: an ISO 3166-1 alpha-2 code or EU (US, HK, SG, EU...).")
@click.option("--expires", default=None, metavar="TIME", help="When it stops taking effect: ms since 1970 or ISO 8601 with a zone.")
@click.option("--expires-in", default=None, metavar="DURATION", help="When it stops taking effect, from now: 365d, 36h, 90m, 30s.")
@guarded
def issuer_grant_licence(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, account: str, scope: str,
                         jurisdiction: str, expires: str | None, expires_in: str | None) -> None:
    """Grant (renew, replace) an account's licence of a scope in the currency; without --expires or
    --expires-in it does not expire."""
    import time

    if expires is not None and expires_in is not None:
        raise click.UsageError("give --expires or --expires-in, not both")
    expires_at_ms = 0
    if expires is not None:
        expires_at_ms = parse_time_ms(expires)
    elif expires_in is not None:
        expires_at_ms = int(time.time() * 1000) + parse_duration_ms(expires_in)
    fields = {"currency": currency.upper(), "account": parse_address(account), "scope": scope,
              "jurisdiction": jurisdiction.upper(), "expires_at_ms": expires_at_ms}
    submit_and_render(Client(node_url), load_key(key_path), "grant_licence", fields, wait, as_json)


@issuer.command("revoke-licence")
@issuer_options
@click.option("--account", required=True, help="The licensed account (cor1...).")
@scope_option
@click.option("--reason", required=True, help="Why (the decision or case reference); its SHA-256 stays in the licence record.")
@guarded
def issuer_revoke_licence(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, account: str, scope: str,
                          reason: str) -> None:
    """Revoke an account's licence of a scope in the currency: it stops taking effect at once."""
    fields = {"currency": currency.upper(), "account": parse_address(account), "scope": scope, "reason_hash": reason_hash(reason)}
    submit_and_render(Client(node_url), load_key(key_path), "revoke_licence", fields, wait, as_json)


@issuer.command("require-licence")
@issuer_options
@scope_option
@click.option("--off", "off", is_flag=True, help="Stop requiring it.")
@guarded
def issuer_require_licence(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, scope: str, off: bool) -> None:
    """Require licences of a scope in the currency (distribute: the same as policy --distributors-only), or
    with --off stop requiring them."""
    fields = {"currency": currency.upper(), "scope": scope, "required": not off}
    submit_and_render(Client(node_url), load_key(key_path), "set_licence_required", fields, wait, as_json)


# redemption requests ---------------------------------------------------------------------------------------


DURATION_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """A duration as milliseconds: 5d, 36h, 90m, 30s, 1500ms, or a plain number of milliseconds."""
    import re

    match = re.fullmatch(r"\s*([0-9]{1,15})\s*(ms|s|m|h|d)?\s*", text)
    if match is None:
        raise click.BadParameter("give a duration such as 5d, 36h, 90m, 30s, 1500ms (or milliseconds)")
    return int(match.group(1)) * DURATION_UNITS_MS[match.group(2) or "ms"]


@cli.group()
def redeem() -> None:
    """Redemption requests: a holder asks the issuer to redeem coins (locked at once); the issuer fulfils
    (burns them, recording the off-chain payout) or rejects (they return) within the currency's deadline."""


def redemption_id_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--id", "redemption_id", type=click.IntRange(0), required=True,
                        help="The request's id (its redemption_requested event; corridor query redemptions).")(function)


@redeem.command("request")
@tx_options
@click.option("--amount", required=True, help="Decimal amount in major units, e.g. 250.00.")
@click.option("--currency", required=True, help="Currency code, e.g. USD.")
@guarded
def redeem_request(key_path: Path, node_url: str, as_json: bool, wait: bool, amount: str, currency: str) -> None:
    """Ask the issuer to redeem AMOUNT of your CURRENCY: it leaves your balance now and stays locked in the
    request until the issuer fulfils or rejects it, or you cancel it."""
    client, key = Client(node_url), load_key(key_path)
    fields = {"currency": currency.upper(), "amount_minor": amount_in(client, currency.upper(), amount)}
    submit_and_render(client, key, "redeem_request", fields, wait, as_json)


@redeem.command("fulfil")
@tx_options
@redemption_id_option
@click.option("--payout", required=True, help="The off-chain payout's reference (e.g. the bank transfer's id); its SHA-256 goes on chain.")
@guarded
def redeem_fulfil(key_path: Path, node_url: str, as_json: bool, wait: bool, redemption_id: int, payout: str) -> None:
    """Issuer only: the holder was paid off chain; burn the locked coins and record the payout's reference."""
    fields = {"redemption_id": redemption_id, "payout_reference": reason_hash(payout)}
    submit_and_render(Client(node_url), load_key(key_path), "redeem_fulfil", fields, wait, as_json)


@redeem.command("reject")
@tx_options
@redemption_id_option
@click.option("--reason", required=True, help="Why the request is refused; its SHA-256 goes on chain.")
@guarded
def redeem_reject(key_path: Path, node_url: str, as_json: bool, wait: bool, redemption_id: int, reason: str) -> None:
    """Issuer only: refuse a redemption request; the locked coins return to the holder."""
    fields = {"redemption_id": redemption_id, "reason_hash": reason_hash(reason)}
    submit_and_render(Client(node_url), load_key(key_path), "redeem_reject", fields, wait, as_json)


@redeem.command("cancel")
@tx_options
@redemption_id_option
@guarded
def redeem_cancel(key_path: Path, node_url: str, as_json: bool, wait: bool, redemption_id: int) -> None:
    """Withdraw your own request the issuer has not acted on; the coins come back."""
    submit_and_render(Client(node_url), load_key(key_path), "redeem_cancel", {"redemption_id": redemption_id}, wait, as_json)


@issuer.command("redemption-deadline")
@issuer_options
@click.option("--deadline", required=True, help="Time to act on a redemption request, e.g. 5d, 36h, 90m, 30s, 1500ms.")
@guarded
def issuer_redemption_deadline(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, deadline: str) -> None:
    """Set how long the issuer has to fulfil or reject a redemption request of the currency (for requests
    made from now on; 5 days until set)."""
    fields = {"currency": currency.upper(), "redemption_deadline_ms": parse_duration_ms(deadline)}
    submit_and_render(Client(node_url), load_key(key_path), "set_redemption_deadline", fields, wait, as_json)


def utc_text(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_text(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms >= size:
            return f"{ms / size:.1f}{unit}"
    return f"{ms}ms"


# corridors: jurisdictions and per-corridor policies (ledger/corridors.py) ------------------------------------


def checked_jurisdiction(code: str, wildcard: bool = False) -> str:
    """An ISO 3166-1 alpha-2 code or EU (or "*" where a corridor side is meant), upper-cased; bad input (exit 1) otherwise."""
    from corridor.ledger.corridors import is_corridor_side, is_jurisdiction

    code = code.strip().upper()
    if not (is_corridor_side(code) if wildcard else is_jurisdiction(code)):
        raise click.ClickException(f"{code!r} is not an ISO 3166-1 alpha-2 country code or EU" + (' (or "*" for any)' if wildcard else ""))
    return code


def authorize_with_jurisdiction(client: Client, key: KeyPair, fields: dict[str, Any], jurisdiction: str, wait: bool, as_json: bool) -> None:
    """`issuer authorize --jurisdiction`: the authorisation, then the jurisdiction (two transactions, in order)."""
    code = checked_jurisdiction(jurisdiction)  # checked before anything is submitted
    first = client.submit(client.prepare(key, "set_authorization", fields), wait=wait)
    second = client.submit(client.prepare(key, "set_jurisdiction", {"currency": fields["currency"], "account": fields["account"],
                                                                     "jurisdiction": code}), wait=wait)
    if as_json:
        print_json([first, second])
        return
    render_submission(first, "set_authorization", wait, False)
    render_submission(second, "set_jurisdiction", wait, False)


@issuer.command("jurisdiction")
@issuer_options
@click.option("--account", required=True, help="The account concerned (cor1...).")
@click.option("--jurisdiction", default=None, help="Its jurisdiction: an ISO 3166-1 alpha-2 code (US, HK, SG, DE...) or EU.")
@click.option("--clear", is_flag=True, help="Forget the account's jurisdiction (it becomes unknown).")
@guarded
def issuer_jurisdiction(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, account: str,
                        jurisdiction: str | None, clear: bool) -> None:
    """Record an account's jurisdiction for the currency; corridor policies apply by it (no personal data)."""
    if clear == (jurisdiction is not None):
        raise click.UsageError("give --jurisdiction CODE or --clear")
    fields = {"currency": currency.upper(), "account": parse_address(account),
              "jurisdiction": "" if clear else checked_jurisdiction(jurisdiction or "")}
    submit_and_render(Client(node_url), load_key(key_path), "set_jurisdiction", fields, wait, as_json)


@issuer.command("set-corridor")
@issuer_options
@click.option("--from", "source", required=True, help='The sender\'s jurisdiction (US, HK, EU...), or "*" for any.')
@click.option("--to", "target", required=True, help='The recipient\'s jurisdiction, or "*" for any.')
@click.option("--travel-rule-threshold", default=None,
              help="Above this amount (major units) a payment must carry a travel-rule hash (0: off). [default: unchanged]")
@click.option("--travel-rule-always/--travel-rule-by-threshold", default=None,
              help="Every payment through the corridor carries a travel-rule hash (no threshold). [default: unchanged]")
@click.option("--payment-max", default=None, help="Largest single payment, major units (0: no cap). [default: unchanged]")
@click.option("--window-max", default=None, help="Most one sender may pay through the corridor per --window (0: no limit). [default: unchanged]")
@click.option("--window", default=None, help="The rolling window of --window-max: 1d, 12h, 90m, 30s or ms (0: none). [default: unchanged]")
@click.option("--remove", is_flag=True, help="Remove the corridor's policy (every control off).")
@guarded
def issuer_set_corridor(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, source: str, target: str,
                        travel_rule_threshold: str | None, travel_rule_always: bool | None, payment_max: str | None,
                        window_max: str | None, window: str | None, remove: bool) -> None:
    """Set the policy of one corridor (sender's jurisdiction -> recipient's) of the currency: a travel-rule
    threshold, a maximum per payment and a maximum per sender over a rolling window. What is not given stays
    as it is; with every control off the policy is removed."""
    client, key = Client(node_url), load_key(key_path)
    code = currency.upper()
    source, target = checked_jurisdiction(source, wildcard=True), checked_jurisdiction(target, wildcard=True)
    decimals = client.decimals(code)
    current = next((c for c in client.corridors(code)["corridors"]
                    if (c["from_jurisdiction"], c["to_jurisdiction"]) == (source, target)), None) or {}
    fields: dict[str, Any] = {"currency": code, "from_jurisdiction": source, "to_jurisdiction": target,
                              "travel_rule_threshold_minor": 0, "travel_rule_always": False, "payment_max_minor": 0,
                              "window_max_minor": 0, "window_ms": 0}
    if not remove:
        fields.update({name: current.get(name, 0) for name in ("travel_rule_threshold_minor", "payment_max_minor",
                                                               "window_max_minor", "window_ms")})
        fields["travel_rule_always"] = current.get("travel_rule_always", False) if travel_rule_always is None else travel_rule_always
        for name, given in (("travel_rule_threshold_minor", travel_rule_threshold), ("payment_max_minor", payment_max),
                            ("window_max_minor", window_max)):
            if given is not None:
                fields[name] = parse_amount(given, decimals)
        if window is not None:
            fields["window_ms"] = parse_duration_ms(window)
        if travel_rule_always and travel_rule_threshold is None:
            fields["travel_rule_threshold_minor"] = 0  # every payment: a threshold would mean nothing
    submit_and_render(client, key, "set_corridor_policy", fields, wait, as_json)


def corridor_controls_text(corridor: dict[str, Any], currency: str) -> list[str]:
    travel = ("every payment" if corridor["travel_rule_always"]
              else f"above {corridor['travel_rule_threshold']} {currency}" if corridor["travel_rule_threshold"] else "-")
    cap = f"{corridor['payment_max']} {currency}" if corridor["payment_max"] else "-"
    window = f"{corridor['window_max']} {currency} / {duration_text(corridor['window_ms'])}" if corridor["window_max"] else "-"
    return [travel, cap, window]


# FX: offers, payments, swaps --------------------------------------------------------------------------------


def money_option(name: str, help_text: str, required: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(name, nargs=2, type=(str, str), metavar="AMOUNT CURRENCY", required=required, help=help_text)


def money_in(client: Client, money: tuple[str, str]) -> tuple[int, str]:
    amount, code = money[0], money[1].upper()
    return amount_in(client, code, amount), code


@cli.group()
def offer() -> None:
    """Place and withdraw offers in the on-chain FX market."""


@offer.command("create")
@tx_options
@money_option("--sell", "What to sell, e.g. --sell 100000 JPY.")
@click.option("--buy", "buy_currency", required=True, help="The currency wanted in exchange, e.g. USD.")
@click.option("--price", required=True, help="Least units of --buy per unit sold, in major units, e.g. 0.0067.")
@guarded
def offer_create(key_path: Path, node_url: str, as_json: bool, wait: bool, sell: tuple[str, str], buy_currency: str, price: str) -> None:
    """Sell an amount at a price: it takes crossing offers first, then rests in the book."""
    client, key = Client(node_url), load_key(key_path)
    sell_minor, sell_code = money_in(client, sell)
    buy_code = buy_currency.upper()
    num, den = parse_price(price, client.currency(sell_code)["decimals"], client.currency(buy_code)["decimals"])
    fields = {"sell_currency": sell_code, "sell_amount_minor": sell_minor, "buy_currency": buy_code, "price_num": num, "price_den": den}
    submit_and_render(client, key, "offer_create", fields, wait, as_json)


@offer.command("cancel")
@tx_options
@click.option("--id", "offer_id", type=click.IntRange(0), required=True, help="The offer's id (corridor query offers ADDR).")
@guarded
def offer_cancel(key_path: Path, node_url: str, as_json: bool, wait: bool, offer_id: int) -> None:
    """Withdraw one of your resting offers; its locked funds come back."""
    submit_and_render(Client(node_url), load_key(key_path), "offer_cancel", {"offer_id": offer_id}, wait, as_json)


@cli.command()
@tx_options
@click.option("--to", required=True, help="Recipient address (cor1...).")
@money_option("--send-max", "The most you will spend, e.g. --send-max 100 USD.")
@money_option("--receive", "Exactly what the recipient gets, e.g. --receive 14000 JPY.")
@click.option("--memo", default="", help="Free text for the recipient (at most 256 bytes).")
@travel_rule_option
@guarded
def pay(key_path: Path, node_url: str, as_json: bool, wait: bool, to: str, send_max: tuple[str, str], receive: tuple[str, str], memo: str,
        travel_rule_path: Path | None) -> None:
    """Cross-currency payment: the recipient gets an exact amount, converted through the book, or
    nothing moves."""
    client, key = Client(node_url), load_key(key_path)
    send_minor, send_code = money_in(client, send_max)
    receive_minor, receive_code = money_in(client, receive)
    fields = {"to": parse_address(to), "send_currency": send_code, "send_max_minor": send_minor,
              "receive_currency": receive_code, "receive_amount_minor": receive_minor, "memo": memo,
              "travel_rule_hash": travel_rule_hash(travel_rule_path)}
    submit_and_render(client, key, "pay", fields, wait, as_json)


@cli.group()
def swap() -> None:
    """Atomic two-party swaps (payment versus payment): create, co-sign, submit."""


@swap.command("create")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Your key file.")
@click.option("--counterparty", required=True, help="The other party's public key (corridor keys show).")
@money_option("--give", "What you give, e.g. --give 100.00 USD.")
@money_option("--get", "What you get back, e.g. --get 15000 JPY.")
@click.option("--expires-in", type=click.IntRange(1, 100_000), default=600, show_default=True, help="Blocks until it expires.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the swap for the counterparty.")
@travel_rule_option
@node_option
@json_option
@guarded
def swap_create(key_path: Path, counterparty: str, give: tuple[str, str], get: tuple[str, str], expires_in: int, out: Path,
                travel_rule_path: Path | None, node_url: str, as_json: bool) -> None:
    """Build and sign a swap; hand the file to the counterparty to co-sign."""
    client, key = Client(node_url), load_key(key_path)
    give_minor, give_code = money_in(client, give)
    get_minor, get_code = money_in(client, get)
    try:
        counterparty_key = bytes.fromhex(counterparty)
    except ValueError:
        counterparty_key = b""
    if len(counterparty_key) != 32:
        raise click.BadParameter("the counterparty is a 64-hex-digit public key", param_hint="--counterparty")
    proposal = create_swap(client, key, counterparty_key, give_code, give_minor, get_code, get_minor, expires_in,
                           travel_rule_hash(travel_rule_path))
    proposal.save(out)
    if as_json:
        print_json(proposal_document(proposal, out))
        return
    click.echo(f"swap written to {out}; the counterparty signs it with: corridor swap sign {out} --key THEIR_KEY")


def sign_proposal_file(path: Path, key_path: Path, yes: bool, node_url: str, as_json: bool, question: str) -> Proposal:
    """Show a proposal file's terms, ask `question` (unless --yes), add the key's signature and save it;
    with --json the terms and the question go to stderr and stdout gets the signed file's document."""
    proposal, key = Proposal.load(path), load_key(key_path)
    click.echo(proposal.describe(chain_decimals(Client(node_url))), err=as_json)
    if not yes:
        click.confirm(question, abort=True, err=as_json)
    proposal.sign(key)
    proposal.save(path)
    if as_json:
        print_json(proposal_document(proposal, path))
    return proposal


@swap.command("sign")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Your key file.")
@click.option("--yes", is_flag=True, help="Sign without asking (the terms are still printed).")
@node_option
@json_option
@guarded
def swap_sign(path: Path, key_path: Path, yes: bool, node_url: str, as_json: bool) -> None:
    """Show the swap's terms (amounts in the chain's units) and add your signature. With --json the terms
    (and the question, without --yes) go to stderr, and stdout has the signed file's terms and signers."""
    proposal = sign_proposal_file(path, key_path, yes, node_url, as_json, "Sign this swap?")
    if not as_json:
        click.echo(f"signed; {'ready to submit: corridor swap submit ' + str(path) if proposal.complete else 'waiting for the other signature'}")


@swap.command("submit")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--wait", is_flag=True, help="Return only when the swap is final or refused.")
@json_option
@node_option
@guarded
def swap_submit(path: Path, wait: bool, as_json: bool, node_url: str) -> None:
    """Submit a swap both parties signed."""
    proposal = Proposal.load(path)
    if not proposal.complete:
        raise click.ClickException("the swap does not carry both signatures yet")
    render_submission(Client(node_url).submit(proposal.transaction(), wait=wait), "swap", wait, as_json)


# governance -----------------------------------------------------------------------------------------------


@cli.group()
def gov() -> None:
    """Consortium governance: propose, sign (validators), submit; changes need > 2/3 of the voting power."""


@gov.group("propose")
def gov_propose() -> None:
    """Write a governance proposal, signed by you, for the other validators to sign."""


def proposal_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = json_option(function)
    function = node_option(function)
    function = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                            help="Where to write the proposal for the other validators.")(function)
    return click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help="Your validator's node key (node_key.json in its home).")(function)


def proposal_document(proposal: Proposal, path: Path) -> dict[str, Any]:
    """What --json prints for a proposal or swap file: its terms exactly (minor units, hex) and who signed."""
    from corridor.ledger.tx import FIELDS, body_to_map

    return {"path": str(path), "chain_id": proposal.chain_id, "type": proposal.body.TYPE,
            "body": {name: FIELDS[name].to_json(value) for name, value in body_to_map(proposal.body).items()},
            "signed_by": sorted(key.hex() for key in proposal.signatures), "complete": proposal.complete}


def write_proposal(node_url: str, key_path: Path, type_name: str, fields: dict[str, Any], out: Path, as_json: bool = False) -> None:
    proposal = create_governance(Client(node_url), load_key(key_path), type_name, fields)
    proposal.save(out)
    if as_json:
        print_json(proposal_document(proposal, out))
        return
    click.echo(proposal.describe(chain_decimals(Client(node_url))))
    click.echo(f"written to {out}; each validator signs it with: corridor gov sign {out} --key NODE_KEY")


@gov_propose.command("register-currency")
@proposal_options
@click.option("--code", required=True, help="The new currency's code, e.g. KRW.")
@click.option("--decimals", type=click.IntRange(0, 18), required=True, help="Digits after the decimal point.")
@click.option("--issuer", required=True, help="The issuer's account (cor1...).")
@click.option("--auditor", required=True, help="The reserve auditor's account (cor1...), not the issuer: only it attests reserves.")
@click.option("--allow-list", is_flag=True, help="Holders must be authorised by the issuer (KYC allow-list).")
@click.option("--reserve-max-age-ms", type=click.IntRange(0, 2**63 - 1), default=RESERVE_MAX_AGE_MS_DEFAULT, show_default=True,
              help="Minting stops while the latest reserve attestation is older than this (35 days; 0: never).")
@guarded
def gov_register_currency(key_path: Path, out: Path, node_url: str, as_json: bool, code: str, decimals: int, issuer: str,
                          auditor: str, allow_list: bool, reserve_max_age_ms: int) -> None:
    """Register a new currency, its issuer and its reserve auditor."""
    fields = {"currency": code.upper(), "decimals": decimals, "issuer": parse_address(issuer), "holders_need_authorization": allow_list,
              "auditor": parse_address(auditor), "reserve_max_age_ms": reserve_max_age_ms}
    write_proposal(node_url, key_path, "gov_register_currency", fields, out, as_json)


@gov_propose.command("set-issuer")
@proposal_options
@click.option("--currency", required=True, help="The currency's code.")
@click.option("--issuer", required=True, help="The new issuer's account (cor1...).")
@guarded
def gov_set_issuer(key_path: Path, out: Path, node_url: str, as_json: bool, currency: str, issuer: str) -> None:
    """Hand a currency to another issuer account."""
    write_proposal(node_url, key_path, "gov_set_issuer", {"currency": currency.upper(), "issuer": parse_address(issuer)}, out,
                   as_json)


@gov_propose.command("set-auditor")
@proposal_options
@click.option("--currency", required=True, help="The currency's code.")
@click.option("--auditor", required=True, help="The new auditor's account (cor1...); never the issuer.")
@click.option("--reserve-max-age-ms", type=click.IntRange(0, 2**63 - 1), default=RESERVE_MAX_AGE_MS_DEFAULT, show_default=True,
              help="Minting stops while the latest reserve attestation is older than this (35 days; 0: never).")
@guarded
def gov_set_auditor(key_path: Path, out: Path, node_url: str, as_json: bool, currency: str, auditor: str, reserve_max_age_ms: int) -> None:
    """Name a currency's reserve auditor (the only account that attests its reserve) and the maximum age of
    an attestation before minting stops."""
    fields = {"currency": currency.upper(), "auditor": parse_address(auditor), "reserve_max_age_ms": reserve_max_age_ms}
    write_proposal(node_url, key_path, "gov_set_auditor", fields, out, as_json)


@gov_propose.command("set-validator")
@proposal_options
@click.option("--validator-key", required=True, help="The validator's public key (64 hex digits).")
@click.option("--name", required=True, help="The validator's name.")
@click.option("--power", type=click.IntRange(0, 2**32), required=True, help="Voting power; 0 removes the validator.")
@click.option("--in-blocks", type=click.IntRange(2, 100_000), default=10, show_default=True, help="Blocks until the change takes effect.")
@guarded
def gov_set_validator(key_path: Path, out: Path, node_url: str, as_json: bool, validator_key: str, name: str, power: int,
                      in_blocks: int) -> None:
    """Add a validator, change its power, or remove it, a number of blocks from now."""
    try:
        public_key = bytes.fromhex(validator_key)
    except ValueError:
        public_key = b""
    if len(public_key) != 32:
        raise click.BadParameter("a validator key is 64 hexadecimal digits", param_hint="--validator-key")
    height = Client(node_url).status()["height"]
    # It commits at height + 1 at the earliest; the chain counts the delay from the height it commits at.
    fields = {"validator_key": public_key, "validator_name": name, "power": power, "effective_height": height + 1 + in_blocks}
    write_proposal(node_url, key_path, "gov_set_validator", fields, out, as_json)


@gov_propose.command("set-sanctioned")
@proposal_options
@click.option("--account", required=True, help="The account to list or delist (cor1...).")
@click.option("--list/--delist", "listed", default=True, show_default=True,
              help="Put the account on the consortium sanctions list, or take it off.")
@click.option("--reason", required=True, help="The order or listing reference; its SHA-256 goes on chain.")
@order_document_options
@guarded
def gov_set_sanctioned(key_path: Path, out: Path, node_url: str, as_json: bool, account: str, listed: bool, reason: str,
                       **order: Any) -> None:
    """Put an account on the consortium sanctions list, or take it off. A listed account can neither send nor
    receive any currency, nor trade; its resting offers are cancelled and their funds stay frozen with it.
    A listing executes a lawful order (--authority, --order); a delisting needs none."""
    fields = {"account": parse_address(account), "listed": listed, "reason_hash": reason_hash(reason),
              **order_fields(order, "sanctions listing" if listed else None)}
    write_proposal(node_url, key_path, "gov_set_sanctioned", fields, out, as_json)


@gov.command("sign")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Your validator's node key.")
@click.option("--yes", is_flag=True, help="Sign without asking (the terms are still printed).")
@node_option
@json_option
@guarded
def gov_sign(path: Path, key_path: Path, yes: bool, node_url: str, as_json: bool) -> None:
    """Show a proposal's terms and add your validator's signature. With --json the terms (and the question,
    without --yes) go to stderr, and stdout has the signed file's terms and signers."""
    proposal = sign_proposal_file(path, key_path, yes, node_url, as_json, "Sign this proposal?")
    if not as_json:
        click.echo(f"signed ({len(proposal.signatures)} signature(s) so far)")


@gov.command("submit")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--wait", is_flag=True, help="Return only when the proposal is final or refused.")
@json_option
@node_option
@guarded
def gov_submit(path: Path, wait: bool, as_json: bool, node_url: str) -> None:
    """Submit a proposal; the chain refuses it, naming the missing validators, without > 2/3 of the power."""
    proposal = Proposal.load(path)
    client = Client(node_url)
    validators = client.validators()["validators"]
    signed = sum(v["power"] for v in validators if bytes.fromhex(v["public_key"]) in proposal.signatures)
    total = sum(v["power"] for v in validators)
    if not as_json:
        click.echo(f"signed by validators holding {signed} of {total} power (more than {2 * total // 3} needed)")
    render_submission(client.submit(proposal.transaction(), wait=wait), proposal.body.TYPE, wait, as_json)


@gov.command("history")
@node_option
@json_option
@guarded
def gov_history(node_url: str, as_json: bool) -> None:
    """Every committed governance decision."""
    document = Client(node_url).governance()
    if as_json:
        print_json(document)
        return
    table = Table(title=f"governance (next nonce {document['next_nonce']})", title_justify="left")
    for column in ("height", "type", "terms", "signers"):
        table.add_column(column)
    for item in document["history"]:
        terms = {k: v for k, v in item["body"].items() if k not in ("signer", "nonce")}
        table.add_row(str(item["height"]), item["type"], json.dumps(terms), str(len(item["signers"])))
    console.print(table)


@gov.command("validators")
@node_option
@json_option
@guarded
def gov_validators(node_url: str, as_json: bool) -> None:
    """The validator set and the changes scheduled for it."""
    document = Client(node_url).validators()
    if as_json:
        print_json(document)
        return
    table = Table(title=f"validators at height {document['height']}", title_justify="left")
    for column in ("name", "public key", "power", "from height"):
        table.add_column(column)
    for item in document["validators"]:
        table.add_row(item["name"], item["public_key"], str(item["power"]), "now")
    for item in document["scheduled"]:
        table.add_row(item["name"], item["public_key"], str(item["power"]), str(item["effective_height"]))
    console.print(table)


# queries --------------------------------------------------------------------------------------------------


@cli.group()
def query() -> None:
    """Read the chain's state from a node."""


@query.command("account")
@click.argument("address")
@node_option
@json_option
@guarded
def query_account(address: str, node_url: str, as_json: bool) -> None:
    """Nonce and balances of an account."""
    parse_address(address)
    account = Client(node_url).account(address)
    if as_json:
        print_json(account)
        return
    console.print(f"account {account['address']}  nonce {account['nonce']}", soft_wrap=True)
    table = Table()
    table.add_column("currency")
    table.add_column("balance", justify="right")
    table.add_column("minor units", justify="right")
    for code, balance in sorted(account["balances"].items()):
        table.add_row(code, balance["amount"], str(balance["amount_minor"]))
    console.print(table)
    for code, holder in sorted(account.get("holder_status", {}).items()):
        flags = [name for name in ("authorized", "frozen") if holder[name]]
        console.print(f"{code}: {', '.join(flags) if flags else 'no issuer decision'}")
    if account.get("jurisdictions"):
        console.print("jurisdictions: " + ", ".join(f"{code} {place}" for code, place in sorted(account["jurisdictions"].items())))
    for licence in account.get("licences", []):
        console.print(f"licence: {licence_text(licence)}", soft_wrap=True)
    if account.get("sanctioned"):
        sanction = account.get("sanction") or {}
        console.print(f"SANCTIONED: on the consortium sanctions list since height {sanction.get('height', '?')} "
                      f"(order {sanction.get('reason_hash', '?')}): it can neither send nor receive, nor trade", soft_wrap=True)


@query.command("tx")
@click.argument("tx_hash", metavar="HASH")
@node_option
@json_option
@guarded
def query_tx(tx_hash: str, node_url: str, as_json: bool) -> None:
    """A transaction's status (pending, committed with its receipt, rejected)."""
    document = Client(node_url).tx(tx_hash)
    if as_json:
        print_json(document)
        return
    fields = {"status": document["status"]}
    if "tx" in document:
        fields.update({"type": document["tx"]["type"], "sender": document["tx"]["sender"], "body": document["tx"]["body"]})
    if "receipt" in document:
        fields.update({"height": str(document["receipt"]["height"]), "events": document["receipt"]["events"]})
    if "error" in document:
        fields["error"] = f"{document['error']['code']}: {document['error']['message']}"
    print_fields(f"tx {tx_hash}", fields)


@query.command("block")
@click.argument("height", required=False, default="latest")
@node_option
@json_option
@guarded
def query_block(height: str, node_url: str, as_json: bool) -> None:
    """A block (the latest by default) with its transactions and commit certificate."""
    block = Client(node_url).block(height)
    if as_json:
        print_json(block)
        return
    header = block["header"]
    print_fields(f"block {header['height']}", {"hash": block["hash"], "time_ms": str(header["time_ms"]),
                                                "txs": str(header["tx_count"]), "state_root": header["state_root"],
                                                "signatures": str(len(block["certificate"]["signatures"]))})
    table = Table(title="transactions", title_justify="left")
    for column in ("#", "type", "sender", "hash"):
        table.add_column(column)
    for index, item in enumerate(block["txs"]):
        table.add_row(str(index), item["type"], item["sender"], item["hash"][:16])
    console.print(table)


@query.command("book")
@click.argument("base")
@click.argument("quote")
@click.option("--depth", type=click.IntRange(1, 200), default=10, show_default=True)
@node_option
@json_option
@guarded
def query_book(base: str, quote: str, depth: int, node_url: str, as_json: bool) -> None:
    """The order book of a pair: asks sell BASE, bids buy it; prices in QUOTE per BASE."""
    client = Client(node_url)
    book = client.book(base.upper(), quote.upper(), depth)
    if as_json:
        print_json(book)
        return
    base_decimals, quote_decimals = client.currency(book["base"])["decimals"], client.currency(book["quote"])["decimals"]
    table = Table(title=f"{book['base']}/{book['quote']} at height {book['height']}", title_justify="left")
    for column in ("side", f"price ({book['quote']} per {book['base']})", book["base"], book["quote"], "offers"):
        table.add_column(column, justify="right")
    for side, levels in (("ask", list(reversed(book["asks"]))), ("bid", book["bids"])):
        for level in levels:
            table.add_row(side, format_price(level["price_num"], level["price_den"], base_decimals, quote_decimals),
                          format_amount(level["base_minor"], base_decimals), format_amount(level["quote_minor"], quote_decimals),
                          str(level["offers"]))
    console.print(table)


@query.command("offers")
@click.argument("address")
@node_option
@json_option
@guarded
def query_offers(address: str, node_url: str, as_json: bool) -> None:
    """An account's resting offers."""
    parse_address(address)
    client = Client(node_url)
    offers = client.offers(address)
    if as_json:
        print_json(offers)
        return
    decimals = {c["code"]: c["decimals"] for c in client.currencies()}
    table = Table(title=f"offers of {address}", title_justify="left")
    for column in ("id", "sells", "for", "price", "remaining"):
        table.add_column(column)
    for item in offers:
        price = format_price(item["price_num"], item["price_den"], decimals[item["sell_currency"]], decimals[item["buy_currency"]])
        table.add_row(str(item["id"]), item["sell_currency"], item["buy_currency"], price,
                      format_amount(item["remaining_minor"], decimals[item["sell_currency"]]))
    console.print(table)


@query.command("sanctions")
@node_option
@json_option
@guarded
def query_sanctions(node_url: str, as_json: bool) -> None:
    """The consortium sanctions list: each listed account, the height it was listed at and the order's hash."""
    listed = Client(node_url).sanctions()
    if as_json:
        print_json(listed)
        return
    table = Table(title=f"consortium sanctions list ({len(listed)} account(s))", title_justify="left")
    table.add_column("account", no_wrap=True)
    table.add_column("listed at", justify="right")
    table.add_column("order (SHA-256)", overflow="fold")
    for item in listed:
        table.add_row(item["account"], str(item["height"]), item["reason_hash"])
    console.print(table)


def licence_text(licence: dict[str, Any]) -> str:
    """One licence in a line: currency, scope, jurisdiction, expiry, status."""
    where = f" under {licence['jurisdiction']}" if licence["jurisdiction"] else ""
    until = f" until {utc_text(licence['expires_at_ms'])}" if licence["expires_at_ms"] else ", no expiry"
    status = licence["status"].upper() if licence["status"] != "active" else "active"
    return f"{licence['currency']} {licence['scope']}{where}{until}: {status}"


@query.command("licences")
@click.option("--currency", default=None, help="Only this currency's licences (and the scopes it requires).")
@click.option("--account", default=None, help="Only this account's licences (cor1...).")
@node_option
@json_option
@guarded
def query_licences(currency: str | None, account: str | None, node_url: str, as_json: bool) -> None:
    """The licence registry: each licence's currency, account, scope, jurisdiction, expiry and status now."""
    if account is not None:
        parse_address(account)
    document = Client(node_url).licences(currency, account)
    if as_json:
        print_json(document)
        return
    table = Table(title=f"licences at height {document['height']} ({document['total']} in all)", title_justify="left")
    for column in ("currency", "account", "scope", "jurisdiction", "expires", "status"):
        table.add_column(column, no_wrap=column == "account")
    for item in document["licences"]:
        status = item["status"] if item["status"] != "revoked" else f"revoked at height {item['revoked_height']}"
        table.add_row(item["currency"], item["account"], item["scope"], item["jurisdiction"] or "-",
                      utc_text(item["expires_at_ms"]) if item["expires_at_ms"] else "never", status)
    console.print(table)
    if "licences_required" in document:
        required = ", ".join(document["licences_required"]) or "none"
        console.print(f"{document['currency']} requires licences of: {required}", soft_wrap=True)


@query.command("corridors")
@click.argument("currency")
@click.option("--account", default=None, help="Also show this account's jurisdiction and what it paid in each window (cor1...).")
@node_option
@json_option
@guarded
def query_corridors(currency: str, account: str | None, node_url: str, as_json: bool) -> None:
    """The currency's corridor policies: travel-rule threshold, maximum per payment, maximum per sender and window."""
    if account is not None:
        parse_address(account)
    document = Client(node_url).corridors(currency, account)
    if as_json:
        print_json(document)
        return
    code = document["currency"]
    table = Table(title=f"{code} corridors ({len(document['corridors'])})", title_justify="left")
    for column in ("from", "to", "travel rule", "max per payment", "max per sender", "set at"):
        table.add_column(column)
    if account is not None:
        table.add_column("used by account", justify="right")
    for corridor in document["corridors"]:
        row = [corridor["from_jurisdiction"], corridor["to_jurisdiction"], *corridor_controls_text(corridor, code), str(corridor["height"])]
        if account is not None:
            used = corridor.get("account_window")
            row.append(f"{used['used']} (left {used['remaining']})" if used else "-")
        table.add_row(*row)
    console.print(table)
    if account is not None:
        console.print(f"{document['account']} in {code}: jurisdiction {document['jurisdiction'] or 'unknown'}", soft_wrap=True)


@query.command("redemptions")
@click.option("--currency", default=None, help="Only this currency.")
@click.option("--status", type=click.Choice(["open", "overdue", "all"]), default="open", show_default=True,
              help="open: not yet acted on (overdue ones included); overdue: open and past the deadline; all: closed ones too.")
@click.option("--account", default=None, help="Only the requests of this account (cor1...).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@node_option
@json_option
@guarded
def query_redemptions(currency: str | None, status: str, account: str | None, limit: int, node_url: str, as_json: bool) -> None:
    """Redemption requests: open ones oldest first (overdue ones flagged), or all, newest first."""
    if account is not None:
        parse_address(account)
    document = Client(node_url).redemptions(currency, status, account, limit)
    if as_json:
        print_json(document)
        return
    table = Table(title=f"{status} redemption requests at height {document['height']} ({document['total']} in all)", title_justify="left")
    for column in ("id", "currency", "requester", "amount", "status", "requested at", "deadline"):
        table.add_column(column)
    for item in document["redemptions"]:
        if item["status"] != "open":
            state = f"{item['status']}{' late' if item['late'] else ''} at height {item['closed_height']}"
        elif item["overdue"]:
            state = f"OVERDUE by {duration_text(item['overdue_ms'])}"
        else:
            state = f"open, {duration_text(item['deadline_ms'] - document['now_ms'])} left"
        table.add_row(str(item["id"]), item["currency"], item["requester"], item["amount"], state,
                      f"height {item['requested_height']}", utc_text(item["deadline_ms"]))
    console.print(table)
    for code, summary in document["summary"].items():
        console.print(f"{code}: {summary['open']} open, {summary['overdue']} overdue", soft_wrap=True)


@query.command("redemption")
@click.argument("redemption_id", metavar="ID", type=click.IntRange(0))
@node_option
@json_option
@guarded
def query_redemption(redemption_id: int, node_url: str, as_json: bool) -> None:
    """One redemption request, open or closed, with its deadline and what the issuer did."""
    document = Client(node_url).redemption(redemption_id)
    if as_json:
        print_json(document)
        return
    print_fields(f"redemption {redemption_id}", {key: value if isinstance(value, str) else json.dumps(value)
                                                  for key, value in document.items() if value is not None})


@cli.command("verify-block")
@click.argument("height", required=False, default="latest")
@click.option("--genesis", "genesis_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="The chain's genesis file: the only thing trusted.")
@node_option
@json_option
@guarded
def verify_block(height: str, genesis_path: Path, node_url: str, as_json: bool) -> None:
    """Fetch a block from any node and check it offline: its roots and its commit certificate."""
    from corridor.client.verify import VerificationError, follow_validator_set, verify_block_bundle
    from corridor.ledger.genesis import load_genesis

    genesis = load_genesis(genesis_path)
    client = Client(node_url)
    number = client.status()["height"] if height == "latest" else int(height) if height.isdigit() else -1
    if number < 1:
        raise click.BadParameter("a height is a positive integer or 'latest'", param_hint="HEIGHT")
    try:
        validators = follow_validator_set(client.block_bundle, client.governance()["history"], genesis, number)
        verified = verify_block_bundle(client.block_bundle(number), genesis, validators)
        if verified.height != number:
            raise VerificationError(f"the node answered with block {verified.height}")
    except VerificationError as exc:
        raise click.ClickException(f"block {height} is NOT valid: {exc}") from None
    document = {"valid": True, "height": verified.height, "hash": verified.hash.hex(), "txs": verified.tx_count,
                "signers": list(verified.signers), "signed_power": verified.signed_power,
                "total_power": verified.total_power, "header": verified.header}
    if as_json:
        print_json(document)
        return
    print_fields(f"block {verified.height} is valid and final", {
        "hash": document["hash"], "txs": str(verified.tx_count),
        "signed by": f"{', '.join(verified.signers)} ({verified.signed_power} of {verified.total_power} power)",
        "state_root": verified.header["state_root"]})


def age_text(ms: int) -> str:
    """A duration for people: 3d 4h, 5h 12m, 42s."""
    seconds = ms // 1000
    days, hours, minutes = seconds // 86_400, seconds % 86_400 // 3600, seconds % 3600 // 60
    return f"{days}d {hours}h" if days else f"{hours}h {minutes}m" if hours else f"{minutes}m {seconds % 60}s" if minutes else f"{seconds}s"


def coverage_percent(coverage: str | None) -> str:
    return "no supply" if coverage is None else f"{float(coverage) * 100:.2f} %"


@cli.command("verify-supply")
@click.option("--height", default="latest", show_default=True, help="The block height (or 'latest').")
@click.option("--genesis", "genesis_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="The chain's genesis file: the only thing trusted.")
@click.option("--currency", default=None, help="Check this currency only (its Merkle proof alone).")
@node_option
@json_option
@guarded
def verify_supply_command(height: str, genesis_path: Path, currency: str | None, node_url: str, as_json: bool) -> None:
    """Check every currency's supply and attested reserve at a height offline: the block's certificate (as
    verify-block), then each currency's figures against the header's supply_root."""
    from corridor.client.verify import VerificationError, follow_validator_set, verify_block_bundle, verify_supply
    from corridor.ledger.genesis import load_genesis

    genesis = load_genesis(genesis_path)
    client = Client(node_url)
    number = client.status()["height"] if height == "latest" else int(height) if height.isdigit() else -1
    if number < 1:
        raise click.BadParameter("a height is a positive integer or 'latest'", param_hint="--height")
    document = client.supply(number, currency)
    try:
        validators = follow_validator_set(client.block_bundle, client.governance()["history"], genesis, number)
        verified = verify_block_bundle(client.block_bundle(number), genesis, validators)
        if verified.height != number:
            raise VerificationError(f"the node answered with block {verified.height}")
        entries = verify_supply(verified.block.header, document)
        if currency is not None and [e.code for e in entries] != [currency.upper()]:
            raise VerificationError(f"block {number} commits to no supply of {currency.upper()}")
    except VerificationError as exc:
        raise click.ClickException(f"supply at height {number} is NOT verified: {exc}") from None
    decimals = {item["code"]: item.get("decimals") for item in document["currencies"]}
    rows = [{**entry.to_json(), "leaf_index": entry.leaf_index, "decimals": decimals.get(entry.code)} for entry in entries]
    result = {"valid": True, "height": verified.height, "hash": verified.hash.hex(), "time_ms": verified.header["time_ms"],
              "supply_root": verified.header["supply_root"], "signers": list(verified.signers),
              "signed_power": verified.signed_power, "total_power": verified.total_power, "currencies": rows}
    if as_json:
        print_json(result)
        return
    table = Table(title=f"supply and reserves at height {verified.height}, verified against its header "
                        f"(certified by {verified.signed_power} of {verified.total_power} power)", title_justify="left")
    for column in ("currency", "supply", "attested reserve", "coverage", "reserve as of", "age at the block"):
        table.add_column(column)
    for row in rows:
        places = row["decimals"]
        shown = (lambda minor: format_amount(minor, places)) if places is not None else (lambda minor: f"{minor} minor units")
        as_of = row["reserve_as_of_ms"]
        table.add_row(row["code"], shown(row["supply_minor"]), shown(row["reserve_minor"]), coverage_percent(row["coverage"]),
                      str(as_of), age_text(max(0, result["time_ms"] - as_of)))
    console.print(table)


@query.command("reserves")
@node_option
@json_option
@guarded
def query_reserves(node_url: str, as_json: bool) -> None:
    """Every currency's issuer, reserve auditor, supply, attested reserve, its age and whether it is stale."""
    import time

    keys = ("code", "issuer", "auditor", "supply_minor", "reserve_minor", "reserve_coverage", "reserve_report_hash",
            "reserve_as_of_ms", "reserve_max_age_ms", "reserve_stale_at_ms", "reserve_stale")
    currencies = [{key: c.get(key) for key in keys} | {"decimals": c["decimals"]} for c in Client(node_url).currencies()]
    now_ms = int(time.time() * 1000)
    if as_json:
        print_json(currencies)
        return
    table = Table(title="reserves (minting stops when stale)", title_justify="left")
    for column in ("currency", "supply", "reserve", "coverage", "auditor", "attested", "max age", "stale"):
        table.add_column(column)
    for c in currencies:
        table.add_row(c["code"], format_amount(c["supply_minor"], c["decimals"]), format_amount(c["reserve_minor"], c["decimals"]),
                      coverage_percent(c["reserve_coverage"]), c["auditor"] or "none",
                      f"{age_text(max(0, now_ms - c['reserve_as_of_ms']))} ago", age_text(c["reserve_max_age_ms"]) if c["reserve_max_age_ms"] else "no limit",
                      "STALE" if c["reserve_stale"] else "no")
    console.print(table)


PROOF_FILE_BYTES_MAX = 512 * 1024 * 1024


@cli.command("verify-receipt")
@click.argument("proof_path", metavar="FILE", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--genesis", "genesis_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="The chain's genesis file: the only thing trusted.")
@json_option
@guarded
def verify_receipt_command(proof_path: Path, genesis_path: Path, as_json: bool) -> None:
    """Check a receipt proof (GET /v1/txs/{hash}/proof, saved to FILE) offline: that its transaction is final
    in a block certified by the chain's validators, with no node and nothing but the genesis file."""
    from corridor.client.verify import VerificationError, verify_receipt
    from corridor.ledger.genesis import load_genesis

    genesis = load_genesis(genesis_path)
    try:
        if proof_path.stat().st_size > PROOF_FILE_BYTES_MAX:
            raise click.ClickException(f"{proof_path} is larger than any receipt proof")
        document = json.loads(proof_path.read_bytes())
    except OSError as exc:
        raise click.ClickException(f"cannot read {proof_path}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise click.ClickException(f"{proof_path} is not a JSON receipt proof: {exc}") from None
    try:
        verified = verify_receipt(document, genesis)
    except VerificationError as exc:
        raise click.ClickException(f"receipt is NOT valid: {exc}") from None
    if as_json:
        print_json(verified.to_json())
        return
    click.echo(f"receipt verified: final at height {verified.height} of chain {verified.chain_id}")
    for line in verified.summary():
        click.echo(f"  {line}")
    memo = getattr(verified.tx.body, "memo", "")
    if memo:
        click.echo(f"  memo: {memo}")
    click.echo(f"transaction {verified.tx_hash.hex()} ({verified.tx.body.TYPE}, signed by {verified.sender})")
    click.echo(f"index {verified.index} of block {verified.height}, hash {verified.block_hash.hex()}")
    click.echo(f"certified by {', '.join(verified.signers)} ({verified.signed_power} of {verified.total_power} voting power)")


@query.command("evidence")
@node_option
@json_option
@guarded
def query_evidence(node_url: str, as_json: bool) -> None:
    """Committed evidence of validators that signed conflicting votes."""
    items = Client(node_url).evidence()
    if as_json:
        print_json(items)
        return
    table = Table(title="evidence of double signing", title_justify="left")
    for column in ("committed at", "validator", "height", "round", "step"):
        table.add_column(column)
    for item in items:
        table.add_row(str(item["committed_height"]), item["validator_address"], str(item["height"]), str(item["round"]), item["step"])
    console.print(table)


@cli.command()
@node_option
@json_option
@guarded
def status(node_url: str, as_json: bool) -> None:
    """The node's chain, height, consensus round and step, sync state, peers and validators."""
    document = Client(node_url).status()
    if as_json:
        print_json(document)
        return
    render_status(document)


def render_status(document: dict[str, Any]) -> None:
    """Two tables: the node (height, consensus, sync, peers, mempool) and the validators with each one's
    connection as this node sees it. Reads only fields that /v1/status documents; a missing one shows '?'."""
    height = document.get("height", 0)
    peer_heights = {peer.get("node_id"): peer.get("height") for peer in document.get("peers", [])}
    ahead = max((h for h in peer_heights.values() if isinstance(h, int)), default=height)
    if document.get("syncing"):
        sync = f"syncing: catching up from peers (ahead up to height {ahead})"
    elif ahead > height:
        sync = f"in step (a peer announced height {ahead})"
    else:
        sync = "in step"
    consensus = document.get("consensus") or {}
    validators = document.get("validators", [])
    me = document.get("node_id")
    others = sum(1 for v in validators if v.get("public_key") != me)
    total = sum(v.get("power", 0) for v in validators)
    print_fields(f"node {document.get('moniker', '?')}", {
        "chain_id": document.get("chain_id", "?"),
        "height": str(height),
        "latest_hash": document.get("latest_hash", "?"),
        "state_root": document.get("state_root", "?"),
        "consensus": f"height {consensus.get('height', '?')}, round {consensus.get('round', '?')}, {consensus.get('step', '?')}",
        "syncing": sync,
        "peers": f"{len(peer_heights)} connected of {others} other validator(s)",
        "mempool_txs": str(document.get("mempool_txs", "?")),
        "quorum": f"more than {2 * total // 3} of {total} voting power",
    })
    table = Table(title=f"validators of height {consensus.get('height', '?')}", title_justify="left")
    for column in ("name", "public key", "power", "connection"):
        table.add_column(column)
    for item in validators:
        key = item.get("public_key", "")
        if key == me:
            connection = "this node"
        elif key in peer_heights:
            connection = f"connected, at height {peer_heights[key]}"
        else:
            connection = "not connected"
        table.add_row(item.get("name", "?"), key[:16] + "…", str(item.get("power", "?")), connection)
    console.print(table)


# lawful orders, compliance keys and the audit export (ledger/orders.py, client/audit.py) ---------------------


_issuer_seizure_command("forced-burn", "forced_burn", "forced burn", "The frozen account whose coins are destroyed (cor1...).",
                        "Destroy coins of a frozen account under a lawful order (--authority, --order): the supply falls.")


@issuer.command("compliance-keys")
@issuer_options
@click.option("--compliance-key", "compliance_keys", multiple=True, metavar="PUBLIC_KEY",
              help="A compliance officer's public key (64 hex digits; corridor keys show); repeat for each, at most 8.")
@click.option("--threshold", type=click.IntRange(0, 8), required=True,
              help="How many of them must approve each freeze, clawback and forced burn (0: none).")
@click.option("--approver", "approvers", multiple=True, metavar="PUBLIC_KEY",
              help="While a threshold is in force, a current compliance key that approves the change; repeat for each.")
@click.option("--out", "approval_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --approver: where to write the change for the approvers to sign.")
@guarded
def issuer_compliance_keys(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, compliance_keys: tuple[str, ...],
                           threshold: int, **approval: Any) -> None:
    """Set the currency's compliance keys and how many must approve each seizure. While a threshold is in
    force, the current keys approve the change too (--approver ... --out FILE, then corridor compliance sign)."""
    client, key = Client(node_url), load_key(key_path)
    fields = {"currency": currency.upper(), "compliance_keys": public_keys(compliance_keys, "--compliance-key"),
              "compliance_threshold": threshold}
    submit_or_propose(client, key, "set_compliance_keys", fields, approval, wait, as_json)


@cli.group()
def compliance() -> None:
    """Compliance officers: approve seizures (freeze, clawback, forced burn) and key changes the issuer
    wrote to a file, and see a currency's compliance keys."""


@compliance.command("sign")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Your compliance key file.")
@click.option("--yes", is_flag=True, help="Sign without asking (the terms are still printed).")
@node_option
@json_option
@guarded
def compliance_sign(path: Path, key_path: Path, yes: bool, node_url: str, as_json: bool) -> None:
    """Show the seizure's terms and its order, and add your approval. With --json the terms (and the question,
    without --yes) go to stderr, and stdout has the signed file's terms and signers."""
    proposal = sign_proposal_file(path, key_path, yes, node_url, as_json, "Approve it?")
    if as_json:
        return
    missing = [k for k in proposal.required_keys if k not in proposal.signatures]
    click.echo(f"approved; {'ready to submit: corridor compliance submit ' + str(path) if not missing else f'{len(missing)} signature(s) missing'}")


@compliance.command("submit")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--wait", is_flag=True, help="Return only when it is final or refused.")
@json_option
@node_option
@guarded
def compliance_submit(path: Path, wait: bool, as_json: bool, node_url: str) -> None:
    """Submit a seizure (or key change) its issuer and every approver it names have signed."""
    proposal = Proposal.load(path)
    if not proposal.complete:
        missing = [k.hex() for k in proposal.required_keys if k not in proposal.signatures]
        raise click.ClickException(f"not every signature is there yet; missing: {', '.join(missing)}")
    render_submission(Client(node_url).submit(proposal.transaction(), wait=wait), proposal.body.TYPE, wait, as_json)


@compliance.command("keys")
@click.argument("currency")
@node_option
@json_option
@guarded
def compliance_keys_query(currency: str, node_url: str, as_json: bool) -> None:
    """A currency's compliance keys and the approvals each seizure needs (GET /v1/currencies/{code})."""
    document = Client(node_url).compliance(currency)
    shown = {name: document[name] for name in ("code", "issuer", "compliance_threshold", "compliance_keys", "compliance_key_addresses")}
    if as_json:
        print_json(shown)
        return
    threshold, keys = shown["compliance_threshold"], shown["compliance_keys"]
    console.print(f"{shown['code']}: {threshold} of {len(keys)} compliance key(s) approve each seizure"
                  if threshold else f"{shown['code']}: the issuer's signature alone suffices ({len(keys)} compliance key(s) named)")
    table = Table()
    table.add_column("public key")
    table.add_column("address")
    for key, address in zip(keys, shown["compliance_key_addresses"], strict=True):
        table.add_row(key, address)
    if keys:
        console.print(table)


@cli.group()
def audit() -> None:
    """For auditors: every seizure with its lawful order, in one file."""


@audit.command("export")
@click.option("--from", "from_height", type=click.IntRange(1), default=1, show_default=True, help="The first block.")
@click.option("--to", "to_height", type=click.IntRange(1), default=None, help="The last block. [default: the latest]")
@click.option("--currency", default=None, help="Only this currency's seizures (a sanctions listing has none).")
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to this file. [default: stdout]")
@click.option("--genesis", "genesis_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The chain's genesis file: verify every block's certificate offline against it, trusting the node for nothing.")
@node_option
@guarded
def audit_export(from_height: int, to_height: int | None, currency: str | None, output_format: str, as_json: bool, out: Path | None,
                 genesis_path: Path | None, node_url: str) -> None:
    """Every freeze, clawback, forced burn and sanctions listing of blocks --from to --to, each with its order
    (authority, hash, expiry) and approvers, read from the blocks' receipts, as CSV or JSON."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from corridor.client.audit import lawful_orders, to_csv
    from corridor.client.verify import VerificationError
    from corridor.ledger.genesis import load_genesis

    client = Client(node_url)
    genesis = load_genesis(genesis_path) if genesis_path is not None else None
    last = client.status()["height"] if to_height is None else to_height
    if last < from_height:
        raise click.BadParameter(f"--to {last} is below --from {from_height}", param_hint="--to")
    status = Console(stderr=True)
    columns = (TextColumn("verifying" if genesis else "reading"), BarColumn(), MofNCompleteColumn(), TextColumn("blocks"),
               TimeRemainingColumn())
    with Progress(*columns, console=status, transient=True, disable=not status.is_terminal) as progress:
        task = progress.add_task("blocks", total=last - from_height + 1)
        try:
            document = lawful_orders(client, from_height, last, currency, genesis, lambda _: progress.advance(task))
        except VerificationError as exc:
            raise click.ClickException(f"the export is NOT trustworthy: {exc}") from None
        except InvalidInput as exc:
            raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    text = to_csv(document) if output_format == "csv" and not as_json else json.dumps(document, indent=2, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
    verified = "verified against the genesis file" if genesis else "not verified (give --genesis to check every block)"
    status.print(f"{document['count']} seizure(s) with their orders in blocks {from_height} to {last}; {verified}"
                 + (f"; written to {out}" if out else ""), soft_wrap=True)


def main() -> None:
    cli(prog_name="corridor")
