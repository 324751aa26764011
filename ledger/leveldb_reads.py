"""Make LevelDB read its tables with pread instead of mapping them into the node's memory.

Why: LevelDB 1.22, the build in plyvel's wheel, maps up to 1,000 table files into the process and reads them
through the mappings. Every page a lookup or a compaction touches then counts in the node's RSS until the table
is closed. The state's keys and the tx index's are hashes, so each new table overlaps every table of the level
below, and compacting level 0 into level 1 maps all of level 1 at once: 10-20 MB of a node's RSS appeared and
went within a second or two (docs/performance.md, "the memory check"). Read with pread, the same pages stay in
the kernel's page cache, shared and reclaimable, and the node's RSS is the node's own memory. RocksDB made
pread its default for the same reasons.

How: LevelDB's one setting for this is the limit on mapped tables, which its PosixEnv reads once, when the
process's first database is opened (EnvPosixTestHelper::SetReadOnlyMMapLimit sets it, for LevelDB's tests).
plyvel does not expose it and the library does not export it, so the limit's variable is found through the
library's symbol table and set to 0 before LevelDB makes its Env (any plyvel open, repair or destroy does).
Every step is checked: the file on disk is the library loaded, the symbols are there and of the expected kind
and size, the addresses fall inside the library's writable memory, the Env is not made yet, and the limit
holds LevelDB's default (1,000). If one check fails nothing is written, LevelDB maps its tables as before,
and the reason is returned for the node to log. Stores are opened from one thread, at startup.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
from pathlib import Path
from typing import NamedTuple

import plyvel  # noqa: F401  (loads the LevelDB library this module looks for)

_LIBRARY_NAME = "libleveldb"
_MMAP_LIMIT_SYMBOL = b"_ZN7leveldb12_GLOBAL__N_112g_mmap_limitE"  # leveldb::(anonymous)::g_mmap_limit, an int
# The guard of Env::Default()'s static Env, non-zero once the Env is made: the limit is not read after that.
_ENV_MADE_SYMBOL = b"_ZGVZN7leveldb3Env7DefaultEvE13env_container"
_EXPORTED_SYMBOL = b"leveldb_major_version"  # from LevelDB's C API: places the library in memory
_MMAP_LIMIT_DEFAULT = 1000  # kDefaultMmapLimit on 64-bit builds
_SHT_SYMTAB = 2
_STT_OBJECT = 1
_MAPS = Path("/proc/self/maps")


class _NotApplicable(Exception):
    """The limit cannot be set safely in this process: another LevelDB build, or its Env is made already."""


class _Mapping(NamedTuple):
    start: int
    end: int
    permissions: str
    device: str  # major:minor in hex, as /proc/self/maps writes it
    inode: int
    path: str


class _Symbol(NamedTuple):
    value: int
    size: int
    is_data: bool  # an object defined in the library, not a function or an import


@functools.cache
def disable_table_mmap() -> str | None:
    """Set LevelDB's limit on mapped tables to 0, once per process; call it before any database is opened.

    Returns None when LevelDB will read tables with pread, or why it still maps them."""
    try:
        _set_mmap_limit_to_zero()
    except _NotApplicable as reason:
        return f"LevelDB reads its tables through mmap, and the node's RSS counts the pages it touches ({reason})"
    return None


def _set_mmap_limit_to_zero() -> None:
    mappings = _library_mappings()
    library = mappings[0].path
    symbols = _symbols(library, {_MMAP_LIMIT_SYMBOL, _ENV_MADE_SYMBOL, _EXPORTED_SYMBOL})
    limit_symbol, env_made_symbol = symbols[_MMAP_LIMIT_SYMBOL], symbols[_ENV_MADE_SYMBOL]
    if not (limit_symbol.is_data and limit_symbol.size == ctypes.sizeof(ctypes.c_int)):
        raise _NotApplicable("the mmap limit's symbol is not an int variable")
    if not (env_made_symbol.is_data and env_made_symbol.size == ctypes.sizeof(ctypes.c_uint64)):
        raise _NotApplicable("the Env's guard symbol is not the 8-byte guard of the Itanium C++ ABI")
    try:
        exported = ctypes.cast(getattr(ctypes.CDLL(library), _EXPORTED_SYMBOL.decode()), ctypes.c_void_p).value
    except (OSError, AttributeError) as exc:
        raise _NotApplicable(f"cannot find {_EXPORTED_SYMBOL.decode()} in {library}: {exc}") from exc
    assert exported is not None  # for the type checker: ctypes raised above for a missing symbol
    base = exported - symbols[_EXPORTED_SYMBOL].value
    env_made = ctypes.c_uint64.from_address(_writable_address(mappings, base, env_made_symbol))
    limit = ctypes.c_int.from_address(_writable_address(mappings, base, limit_symbol))
    if env_made.value != 0:
        raise _NotApplicable("a LevelDB database was opened in this process before the limit could be set")
    if limit.value == 0:
        return
    if limit.value != _MMAP_LIMIT_DEFAULT:
        raise _NotApplicable(f"the mmap limit reads {limit.value}, not LevelDB's default {_MMAP_LIMIT_DEFAULT}")
    limit.value = 0


def _writable_address(mappings: list[_Mapping], base: int, symbol: _Symbol) -> int:
    """Where `symbol` is in this process, once checked to lie inside one of the library's writable mappings."""
    address = base + symbol.value
    if not any(mapping.start <= address and address + symbol.size <= mapping.end and "w" in mapping.permissions
               for mapping in mappings):
        raise _NotApplicable("a symbol's address is outside the library's writable memory")
    return address


def _library_mappings() -> list[_Mapping]:
    """Each mapping of the LevelDB library loaded in this process, once checked to be the file on disk."""
    try:
        lines = _MAPS.read_text().splitlines()
    except OSError as exc:
        raise _NotApplicable(f"cannot read {_MAPS}: {exc}") from exc
    mappings = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and Path(fields[5]).name.startswith(_LIBRARY_NAME):
            start, end = (int(bound, 16) for bound in fields[0].split("-"))
            mappings.append(_Mapping(start, end, fields[1], fields[3], int(fields[4]), fields[5]))
    if not mappings or len({mapping.path for mapping in mappings}) != 1:
        raise _NotApplicable(f"not exactly one {_LIBRARY_NAME} is loaded (plyvel may link LevelDB statically)")
    loaded = mappings[0]
    try:
        on_disk = os.stat(loaded.path)
    except OSError as exc:  # deleted or replaced since it was loaded, for one
        raise _NotApplicable(f"cannot read {loaded.path}: {exc}") from exc
    if (on_disk.st_ino, f"{os.major(on_disk.st_dev):02x}:{os.minor(on_disk.st_dev):02x}") != (loaded.inode, loaded.device):
        raise _NotApplicable(f"{loaded.path} on disk is not the library loaded (replaced since)")
    return mappings


def _symbols(library: str, wanted: set[bytes]) -> dict[bytes, _Symbol]:
    """The `wanted` symbols of an ELF64 little-endian shared library's symbol table, each found exactly once."""
    try:
        data = Path(library).read_bytes()
    except OSError as exc:
        raise _NotApplicable(f"cannot read {library}: {exc}") from exc
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise _NotApplicable(f"{library} is not a 64-bit little-endian ELF library")
    try:
        found = _read_symbol_table(data, wanted)
    except (struct.error, IndexError, ValueError) as exc:
        raise _NotApplicable(f"{library} has a malformed section or symbol table: {exc}") from exc
    for name in wanted:
        if len(found.get(name, [])) != 1:
            raise _NotApplicable(f"{library}'s symbol table names {name.decode()} {len(found.get(name, []))} times, not once")
    return {name: symbols[0] for name, symbols in found.items()}


def _read_symbol_table(data: bytes, wanted: set[bytes]) -> dict[bytes, list[_Symbol]]:
    """Every entry of the ELF file's symbol tables whose name is in `wanted` (struct errors on a bad file)."""
    section_headers_at, = struct.unpack_from("<Q", data, 0x28)
    header_size, header_count = struct.unpack_from("<HH", data, 0x3A)
    # (type, offset, size, link) of each section
    sections = [struct.unpack_from("<4xI16xQQI", data, section_headers_at + number * header_size)
                for number in range(header_count)]
    found: dict[bytes, list[_Symbol]] = {}
    for kind, offset, size, link in sections:
        if kind != _SHT_SYMTAB:
            continue
        names_at = sections[link][1]
        for entry in range(offset, offset + size, 24):
            name_offset, info, section, value, symbol_size = struct.unpack_from("<IBxHQQ", data, entry)
            start = names_at + name_offset
            name = data[start:data.index(b"\0", start)]
            if name in wanted:
                is_data = info & 0xF == _STT_OBJECT and section != 0  # 0: SHN_UNDEF, defined elsewhere
                found.setdefault(name, []).append(_Symbol(value, symbol_size, is_data))
    return found
