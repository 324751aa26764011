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
from corridor.client.proposal import Proposal, ProposalFileError, chain_decimals, create_governance, create_swap
from corridor.keys import AddressError, KeyFileError, KeyPair, load_key, parse_address, save_key
from corridor.ledger.amounts import AmountError, format_amount, format_price, parse_amount, parse_price
from corridor.ledger.genesis import GenesisError
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


@tx.command("attest-reserve")
@tx_options
@click.option("--reserve", required=True, help="The reserve backing the currency, in major units.")
@click.option("--currency", required=True, help="Currency code; --key must be its issuer.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="The auditor's report; its SHA-256 is recorded on chain.")
@guarded
def tx_attest_reserve(key_path: Path, node_url: str, as_json: bool, wait: bool, reserve: str, currency: str, report_path: Path) -> None:
    """Issuer only: record the reserve backing a currency and the hash of the auditor's report."""
    from corridor.hashing import sha256

    client, key = Client(node_url), load_key(key_path)
    fields = {"currency": currency.upper(), "reserve_minor": amount_in(client, currency.upper(), reserve),
              "report_hash": sha256(report_path.read_bytes())}
    submit_and_render(client, key, "attest_reserve", fields, wait, as_json)


# issuer controls ------------------------------------------------------------------------------------------


@cli.group()
def issuer() -> None:
    """A currency issuer's controls: supply, reserves, allow-list, freezes, clawback, pause, distributors."""


issuer.add_command(tx_mint, "mint")
issuer.add_command(tx_burn, "burn")
issuer.add_command(tx_attest_reserve, "attest")


def issuer_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--currency", required=True, help="Currency code; --key must be its issuer.")(function)
    return tx_options(function)


def reason_hash(reason: str) -> bytes:
    from corridor.hashing import sha256

    return sha256(reason.encode())


def _issuer_account_command(name: str, type_name: str, enabled: bool, help_text: str, with_reason: bool = False) -> None:
    @issuer_options
    @click.option("--account", required=True, help="The account concerned (cor1...).")
    @guarded
    def command(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, account: str, **extra: Any) -> None:
        client, key = Client(node_url), load_key(key_path)
        fields: dict[str, Any] = {"currency": currency.upper(), "account": parse_address(account), "enabled": enabled}
        if with_reason:
            fields["reason_hash"] = reason_hash(extra["reason"])
        submit_and_render(client, key, type_name, fields, wait, as_json)

    command.__doc__ = help_text
    if with_reason:
        command = click.option("--reason", required=True, help="Why (the order or case reference); its SHA-256 goes on chain.")(command)
    issuer.command(name)(command)


_issuer_account_command("authorize", "set_authorization", True, "Allow an account to hold an allow-list currency.")
_issuer_account_command("deauthorize", "set_authorization", False, "Remove an account from the currency's allow-list.")
_issuer_account_command("freeze", "set_frozen", True, "Freeze an account: it can neither send nor receive the currency.", with_reason=True)
_issuer_account_command("unfreeze", "set_frozen", False, "Lift a freeze.", with_reason=True)
_issuer_account_command("license", "set_distributor", True, "License an account as a distributor of the currency.")
_issuer_account_command("revoke", "set_distributor", False, "Revoke a distributor's licence.")


@issuer.command("clawback")
@issuer_options
@click.option("--account", required=True, help="The frozen account to take coins from (cor1...).")
@click.option("--amount", required=True, help="Decimal amount in major units.")
@click.option("--reason", required=True, help="Why (the order or case reference); its SHA-256 goes on chain.")
@guarded
def issuer_clawback(key_path: Path, node_url: str, as_json: bool, wait: bool, currency: str, account: str, amount: str, reason: str) -> None:
    """Move coins of a frozen account back to the issuer."""
    client, key = Client(node_url), load_key(key_path)
    fields = {"currency": currency.upper(), "account": parse_address(account),
              "amount_minor": amount_in(client, currency.upper(), amount), "reason_hash": reason_hash(reason)}
    submit_and_render(client, key, "clawback", fields, wait, as_json)


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
    proposal, key = Proposal.load(path), load_key(key_path)
    click.echo(proposal.describe(chain_decimals(Client(node_url))), err=as_json)
    if not yes:
        click.confirm("Sign this swap?", abort=True, err=as_json)
    proposal.sign(key)
    proposal.save(path)
    if as_json:
        print_json(proposal_document(proposal, path))
        return
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
@click.option("--allow-list", is_flag=True, help="Holders must be authorised by the issuer (KYC allow-list).")
@guarded
def gov_register_currency(key_path: Path, out: Path, node_url: str, as_json: bool, code: str, decimals: int, issuer: str,
                          allow_list: bool) -> None:
    """Register a new currency and its issuer."""
    fields = {"currency": code.upper(), "decimals": decimals, "issuer": parse_address(issuer), "holders_need_authorization": allow_list}
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
    proposal, key = Proposal.load(path), load_key(key_path)
    click.echo(proposal.describe(chain_decimals(Client(node_url))), err=as_json)
    if not yes:
        click.confirm("Sign this proposal?", abort=True, err=as_json)
    proposal.sign(key)
    proposal.save(path)
    if as_json:
        print_json(proposal_document(proposal, path))
        return
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


def main() -> None:
    cli(prog_name="corridor")
