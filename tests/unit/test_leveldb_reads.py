"""LevelDB reads its tables with pread: the pages a lookup or a compaction touches are not mapped into the
node, so they do not count in its RSS (ledger/leveldb_reads.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from corridor.ledger import leveldb_reads

# Run in a fresh interpreter: LevelDB reads the limit once, when the process opens its first database.
_TOUCH_TABLES = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from corridor.ledger import store
    if sys.argv[2] == "store":
        database = store._open(Path(sys.argv[1]))
    else:
        import plyvel
        database = plyvel.DB(sys.argv[1], create_if_missing=True)
    keys = [os.urandom(32) for _ in range(20_000)]
    for key in keys:
        database.put(key, bytes(64))
    database.compact_range()
    assert all(database.get(key) == bytes(64) for key in keys[::50])
    tables = sum(name.endswith(".ldb") for name in os.listdir(sys.argv[1]))
    mapped = sum(line.rstrip().endswith(".ldb") for line in open("/proc/self/maps"))
    print(tables, mapped)
""")


def _tables_and_mapped_tables(path: Path, opened_by: str) -> tuple[int, int]:
    result = subprocess.run([sys.executable, "-c", _TOUCH_TABLES, str(path), opened_by],
                            capture_output=True, text=True, check=True)
    tables, mapped = result.stdout.split()
    return int(tables), int(mapped)


def test_the_store_reads_tables_without_mapping_them(tmp_path: Path) -> None:
    tables, mapped = _tables_and_mapped_tables(tmp_path / "db", "store")
    assert tables >= 1
    assert mapped == 0


def test_leveldb_left_alone_maps_the_tables_it_reads(tmp_path: Path) -> None:
    """The check above can see a mapping: without the setting, the same reads map every table."""
    tables, mapped = _tables_and_mapped_tables(tmp_path / "db", "plyvel")
    assert mapped == tables >= 1


def test_this_process_reads_without_mmap() -> None:
    assert leveldb_reads.disable_table_mmap() is None


def test_a_library_it_cannot_read_is_refused_with_the_reason(tmp_path: Path) -> None:
    library = tmp_path / "libleveldb.so"
    with pytest.raises(leveldb_reads._NotApplicable, match="cannot read"):
        leveldb_reads._symbol_values(str(library), {b"anything"})
    library.write_bytes(b"#!/bin/sh\n")
    with pytest.raises(leveldb_reads._NotApplicable, match="not a 64-bit little-endian ELF"):
        leveldb_reads._symbol_values(str(library), {b"anything"})
    library.write_bytes(b"\x7fELF\x02\x01" + bytes(20))
    with pytest.raises(leveldb_reads._NotApplicable, match="malformed"):
        leveldb_reads._symbol_values(str(library), {b"anything"})


def test_the_symbol_table_is_read_for_exactly_the_names_asked() -> None:
    library = leveldb_reads._library_mappings()[0][3]
    wanted = {leveldb_reads._MMAP_LIMIT_SYMBOL, leveldb_reads._EXPORTED_SYMBOL, b"no_such_symbol"}
    found = leveldb_reads._symbol_values(library, wanted)
    assert found.keys() == {leveldb_reads._MMAP_LIMIT_SYMBOL, leveldb_reads._EXPORTED_SYMBOL}
    assert found[leveldb_reads._MMAP_LIMIT_SYMBOL] != found[leveldb_reads._EXPORTED_SYMBOL]
