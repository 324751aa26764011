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
library's symbol table and set to 0 before the first database opens. Every step is checked: the loaded library,
both symbols, the address inside the library's writable mapping, and LevelDB's default (1,000) there. If one
fails nothing is written, LevelDB maps its tables as before, and the reason is returned for the node to log.
"""

from __future__ import annotations

import ctypes
import functools
import struct
from pathlib import Path

import plyvel  # noqa: F401  (loads the LevelDB library this module looks for)

_LIBRARY_NAME = "libleveldb"
_MMAP_LIMIT_SYMBOL = b"_ZN7leveldb12_GLOBAL__N_112g_mmap_limitE"  # leveldb::(anonymous)::g_mmap_limit
_EXPORTED_SYMBOL = b"leveldb_major_version"  # from LevelDB's C API: places the library in memory
_MMAP_LIMIT_DEFAULT = 1000  # kDefaultMmapLimit on 64-bit builds
_SHT_SYMTAB = 2
_MAPS = Path("/proc/self/maps")

class _NotApplicable(Exception):
    """This process's LevelDB is not the build this module knows how to set."""


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
    library = mappings[0][3]
    symbols = _symbol_values(library, {_MMAP_LIMIT_SYMBOL, _EXPORTED_SYMBOL})
    if symbols.keys() != {_MMAP_LIMIT_SYMBOL, _EXPORTED_SYMBOL}:
        raise _NotApplicable(f"{library} has no symbol table naming the mmap limit")
    try:
        exported = ctypes.cast(getattr(ctypes.CDLL(library), _EXPORTED_SYMBOL.decode()), ctypes.c_void_p).value
    except (OSError, AttributeError) as exc:
        raise _NotApplicable(f"cannot find {_EXPORTED_SYMBOL.decode()} in {library}: {exc}") from exc
    assert exported is not None
    address = exported - symbols[_EXPORTED_SYMBOL] + symbols[_MMAP_LIMIT_SYMBOL]
    if not any(start <= address and address + ctypes.sizeof(ctypes.c_int) <= end and "w" in perms
               for start, end, perms, _ in mappings):
        raise _NotApplicable("the mmap limit's address is outside the library's writable memory")
    limit = ctypes.c_int.from_address(address)
    if limit.value == 0:
        return
    if limit.value != _MMAP_LIMIT_DEFAULT:
        raise _NotApplicable(f"the mmap limit reads {limit.value}, not LevelDB's default {_MMAP_LIMIT_DEFAULT}")
    limit.value = 0


def _library_mappings() -> list[tuple[int, int, str, str]]:
    """(start, end, permissions, path) of each mapping of the LevelDB library loaded in this process."""
    try:
        lines = _MAPS.read_text().splitlines()
    except OSError as exc:
        raise _NotApplicable(f"cannot read {_MAPS}: {exc}") from exc
    mappings = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and Path(fields[5]).name.startswith(_LIBRARY_NAME):
            start, end = (int(bound, 16) for bound in fields[0].split("-"))
            mappings.append((start, end, fields[1], fields[5]))
    if not mappings or len({path for *_, path in mappings}) != 1:
        raise _NotApplicable(f"not exactly one {_LIBRARY_NAME} is loaded (plyvel may link LevelDB statically)")
    return mappings


def _symbol_values(library: str, wanted: set[bytes]) -> dict[bytes, int]:
    """The values of the `wanted` symbols in an ELF64 little-endian shared library's symbol table."""
    try:
        data = Path(library).read_bytes()
    except OSError as exc:  # replaced since it was loaded, for one
        raise _NotApplicable(f"cannot read {library}: {exc}") from exc
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise _NotApplicable(f"{library} is not a 64-bit little-endian ELF library")
    try:
        return _read_symbol_table(data, wanted)
    except (struct.error, IndexError, ValueError) as exc:
        raise _NotApplicable(f"{library} has a malformed section or symbol table: {exc}") from exc


def _read_symbol_table(data: bytes, wanted: set[bytes]) -> dict[bytes, int]:
    section_headers_at, = struct.unpack_from("<Q", data, 0x28)
    header_size, header_count = struct.unpack_from("<HH", data, 0x3A)
    # (type, offset, size, link) of each section
    sections = [struct.unpack_from("<4xI16xQQI", data, section_headers_at + number * header_size)
                for number in range(header_count)]
    found = {}
    for kind, offset, size, link in sections:
        if kind != _SHT_SYMTAB:
            continue
        names_at = sections[link][1]
        for entry in range(offset, offset + size, 24):
            name_offset, value = struct.unpack_from("<I4xQ", data, entry)
            start = names_at + name_offset
            name = data[start:data.index(b"\0", start)]
            if name in wanted:
                found[name] = value
    return found
