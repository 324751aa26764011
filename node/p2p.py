"""Authenticated peer connections between validators, over aiohttp WebSockets.

Every validator listens on its p2p port and dials the peers in its config. A connection is used only after a
handshake in which each side signs the other's random challenge, bound to the chain id and both keys, so
each side proves it holds the node key it claims; keys outside the validator set are refused. Both sides may
dial each other: of two connections between the same pair, the one dialed by the smaller key is kept, which
both sides decide alike.

Each connection has a bounded outbox drained by its own writer task: a slow peer fills its own outbox and
loses messages, it never stalls the others. Incoming frames are size-limited, decoded and handed on; what
they mean is the runner's business.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp
from aiohttp import web

from corridor import codec
from corridor.keys import KeyPair, verify_signature

log = logging.getLogger(__name__)
HANDSHAKE_DOMAIN = "corridor/handshake/v1"
PEER_MESSAGE_BYTES_MAX = 16 * 1024 * 1024
OUTBOX_MESSAGES_MAX = 10_000
HANDSHAKE_TIMEOUT_S = 5.0
BACKOFF_S_MIN = 0.1
BACKOFF_S_MAX = 5.0


class HandshakeError(Exception):
    """The other side did not prove it is a validator of this chain."""


def handshake_signing_bytes(chain_id: str, role: str, dialer_challenge: bytes, acceptor_challenge: bytes, signer: bytes, other: bytes) -> bytes:
    """What each side signs: its role and both challenges bind the signature to this one connection, so a
    relay cannot pass one side's answer off as the other's (a signature of only the peer's challenge
    could be obtained by opening a second connection in the opposite direction)."""
    return codec.encode([HANDSHAKE_DOMAIN, chain_id, role, dialer_challenge, acceptor_challenge, signer, other])


def encode_frame(kind: str, payload: Any) -> bytes:
    return codec.encode([kind, payload])


def decode_frame(raw: bytes) -> tuple[str, Any]:
    frame = codec.decode(raw, PEER_MESSAGE_BYTES_MAX)
    if type(frame) is not list or len(frame) != 2 or type(frame[0]) is not str:
        raise codec.DecodeError("bad_encoding", "a frame is [kind, payload]")
    return frame[0], frame[1]


@dataclass(eq=False)
class PeerConnection:
    peer_key: bytes
    dialer_key: bytes
    ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse
    outbox: asyncio.Queue[tuple[float, bytes]] = field(default_factory=lambda: asyncio.Queue(OUTBOX_MESSAGES_MAX))
    dropped: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class Transport:
    """The validator's peer connections: dial, accept, authenticate, send, receive."""

    def __init__(
        self,
        chain_id: str,
        node_key: KeyPair,
        validator_keys: set[bytes],
        host: str,
        port: int,
        peer_addresses: tuple[str, ...],
        on_message: Callable[[bytes, str, Any], None],
        on_connect: Callable[[bytes], None],
        delay_ms: int = 0,
    ) -> None:
        """`delay_ms` holds every outgoing frame that long before sending it (order kept): a fault layer
        that emulates distant validators, since this kernel has no netem. 0 in production."""
        self._chain_id = chain_id
        self._key = node_key
        self._validator_keys = validator_keys - {node_key.public_key}
        self._host, self._port = host, port
        self._peer_addresses = peer_addresses
        self._on_message = on_message
        self._on_connect = on_connect
        self._delay_s = delay_ms / 1000
        self._connections: dict[bytes, PeerConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.messages_dropped = 0
        self.messages_sent: dict[bytes, int] = {}  # per peer key, read by corridor.node.metrics
        self.messages_received: dict[bytes, int] = {}

    # Lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/p2p", self._accept)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port, reuse_address=True).start()
        self._session = aiohttp.ClientSession()
        for address in self._peer_addresses:
            self._spawn(self._dial_forever(address))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for connection in list(self._connections.values()):
            await connection.ws.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def set_validator_keys(self, keys: set[bytes]) -> None:
        """Accept exactly these keys from now on (the validator set changed); drop peers no longer in it."""
        self._validator_keys = keys - {self._key.public_key}
        for peer_key, connection in list(self._connections.items()):
            if peer_key not in self._validator_keys:
                self._spawn(connection.ws.close())

    # Sending

    def connected_peers(self) -> list[bytes]:
        return list(self._connections)

    def send(self, peer_key: bytes, kind: str, payload: Any) -> None:
        connection = self._connections.get(peer_key)
        if connection is not None:
            self._enqueue(connection, encode_frame(kind, payload))

    def broadcast(self, kind: str, payload: Any) -> None:
        frame = encode_frame(kind, payload)
        for connection in list(self._connections.values()):
            self._enqueue(connection, frame)

    def _enqueue(self, connection: PeerConnection, frame: bytes) -> None:
        try:
            connection.outbox.put_nowait((asyncio.get_running_loop().time() + self._delay_s, frame))
        except asyncio.QueueFull:
            connection.dropped += 1
            self.messages_dropped += 1

    # Connections

    async def _accept(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=PEER_MESSAGE_BYTES_MAX, heartbeat=10.0)
        await ws.prepare(request)
        try:
            peer_key = await asyncio.wait_for(self._handshake_as_acceptor(ws), HANDSHAKE_TIMEOUT_S)
        except (HandshakeError, codec.DecodeError, asyncio.TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            log.info("refused an inbound peer connection: %s", exc)
            await ws.close()
            return ws
        await self._serve(PeerConnection(peer_key, dialer_key=peer_key, ws=ws))
        return ws

    async def _dial_forever(self, address: str) -> None:
        backoff_s = BACKOFF_S_MIN
        assert self._session is not None
        known_key: bytes | None = None
        while True:
            connected = self._connections.get(known_key) if known_key is not None else None
            if connected is not None:
                await connected.closed.wait()  # the peer dialed us and that connection won; redial when it ends
                continue
            try:
                async with self._session.ws_connect(
                    f"http://{address}/p2p", max_msg_size=PEER_MESSAGE_BYTES_MAX, heartbeat=10.0, timeout=aiohttp.ClientWSTimeout(ws_close=2.0)
                ) as ws:
                    peer_key = await asyncio.wait_for(self._handshake_as_dialer(ws), HANDSHAKE_TIMEOUT_S)
                    known_key, backoff_s = peer_key, BACKOFF_S_MIN
                    await self._serve(PeerConnection(peer_key, dialer_key=self._key.public_key, ws=ws))
            except (HandshakeError, codec.DecodeError) as exc:
                log.warning("peer at %s failed the handshake: %s", address, exc)
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, OSError):
                pass
            await asyncio.sleep(backoff_s * random.uniform(0.5, 1.0))
            backoff_s = min(BACKOFF_S_MAX, backoff_s * 2)

    async def _serve(self, connection: PeerConnection) -> None:
        """Run an authenticated connection until it closes; keep one connection per peer."""
        existing = self._connections.get(connection.peer_key)
        if existing is not None:
            if min(existing.dialer_key, connection.dialer_key) == existing.dialer_key:
                await connection.ws.close()
                return
            await existing.ws.close()
            await existing.closed.wait()
        self._connections[connection.peer_key] = connection
        writer = asyncio.create_task(self._write(connection))
        self._on_connect(connection.peer_key)
        try:
            async for message in connection.ws:
                if message.type is not aiohttp.WSMsgType.BINARY:
                    break
                try:
                    kind, payload = decode_frame(message.data)
                except codec.DecodeError as exc:
                    log.warning("dropping a malformed frame from peer %s: %s", connection.peer_key.hex()[:12], exc.message)
                    continue
                self.messages_received[connection.peer_key] = self.messages_received.get(connection.peer_key, 0) + 1
                self._on_message(connection.peer_key, kind, payload)
        finally:
            writer.cancel()
            if self._connections.get(connection.peer_key) is connection:
                del self._connections[connection.peer_key]
            connection.closed.set()

    async def _write(self, connection: PeerConnection) -> None:
        try:
            loop = asyncio.get_running_loop()
            while True:
                due, frame = await connection.outbox.get()
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                await connection.ws.send_bytes(frame)
                self.messages_sent[connection.peer_key] = self.messages_sent.get(connection.peer_key, 0) + 1
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            await connection.ws.close()

    # Handshake

    def _hello(self, challenge: bytes) -> dict[str, Any]:
        return {"chain_id": self._chain_id, "challenge": challenge, "key": self._key.public_key}

    def _check_hello(self, kind: str, hello: Any) -> bytes:
        if kind != "hello" or type(hello) is not dict or hello.get("chain_id") != self._chain_id:
            raise HandshakeError("the peer is not on this chain")
        peer_key, challenge = hello.get("key"), hello.get("challenge")
        if type(peer_key) is not bytes or peer_key not in self._validator_keys:
            raise HandshakeError("the peer's key is not a validator of this chain")
        if type(challenge) is not bytes or len(challenge) != 32:
            raise HandshakeError("the peer's challenge is malformed")
        return peer_key

    def _proves(self, peer_key: bytes, peer_role: str, dialer_challenge: bytes, acceptor_challenge: bytes, signature: Any) -> bool:
        message = handshake_signing_bytes(self._chain_id, peer_role, dialer_challenge, acceptor_challenge, peer_key, self._key.public_key)
        return type(signature) is bytes and verify_signature(peer_key, message, signature)

    def _answer(self, our_role: str, dialer_challenge: bytes, acceptor_challenge: bytes, peer_key: bytes) -> bytes:
        message = handshake_signing_bytes(self._chain_id, our_role, dialer_challenge, acceptor_challenge, self._key.public_key, peer_key)
        return self._key.sign(message)

    async def _receive(self, ws: Any) -> tuple[str, Any]:
        message = await ws.receive()
        if message.type is not aiohttp.WSMsgType.BINARY:
            raise HandshakeError("the connection closed during the handshake")
        return decode_frame(message.data)

    async def _handshake_as_dialer(self, ws: aiohttp.ClientWebSocketResponse) -> bytes:
        our_challenge = secrets.token_bytes(32)
        await ws.send_bytes(encode_frame("hello", self._hello(our_challenge)))
        kind, hello = await self._receive(ws)
        peer_key = self._check_hello(kind, hello)
        their_challenge = hello["challenge"]
        if not self._proves(peer_key, "acceptor", our_challenge, their_challenge, hello.get("signature")):
            raise HandshakeError("the peer could not prove it holds its key")
        await ws.send_bytes(encode_frame("auth", {"signature": self._answer("dialer", our_challenge, their_challenge, peer_key)}))
        return peer_key

    async def _handshake_as_acceptor(self, ws: web.WebSocketResponse) -> bytes:
        kind, hello = await self._receive(ws)
        peer_key = self._check_hello(kind, hello)
        their_challenge, our_challenge = hello["challenge"], secrets.token_bytes(32)
        signature = self._answer("acceptor", their_challenge, our_challenge, peer_key)
        await ws.send_bytes(encode_frame("hello", {**self._hello(our_challenge), "signature": signature}))
        kind, auth = await self._receive(ws)
        if kind != "auth" or type(auth) is not dict or not self._proves(peer_key, "dialer", their_challenge, our_challenge, auth.get("signature")):
            raise HandshakeError("the peer could not prove it holds its key")
        return peer_key
