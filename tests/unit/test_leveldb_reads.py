"""LevelDB reads its tables with pread: the pages a lookup or a compaction touches are not mapped into the
node, so they do not count in its RSS (ledger/leveldb_reads.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from corridor.ledger import leveldb_reads

# Run in a fresh interpreter: LevelDB reads the limit once, when the process makes its Env (the first open).
# Prints what disable_table_mmap said, the tables written and how many of them the process maps.
_TOUCH_TABLES = textwrap.dedent("""
    import os, sys
    import plyvel
    from corridor.ledger import leveldb_reads
    folder, how = sys.argv[1], sys.argv[2]
    if how == "plyvel-first":
        plyvel.DB(folder + "-other", create_if_missing=True).close()
    if how == "other-default":
        leveldb_reads._MMAP_LIMIT_DEFAULT = 999
    reason = None if how == "leveldb-alone" else leveldb_reads.disable_table_mmap()
    database = plyvel.DB(folder, create_if_missing=True)
    keys = [os.urandom(32) for _ in range(20_000)]
    for key in keys:
        database.put(key, bytes(64))
    database.compact_range()
    assert all(database.get(key) == bytes(64) for key in keys[::50])
    tables = sum(name.endswith(".ldb") for name in os.listdir(folder))
    mapped = sum(line.rstrip().endswith(".ldb") for line in open("/proc/self/maps"))
    print(repr(reason), tables, mapped, sep="\\n")
""")


def _touch_tables(path: Path, how: str) -> tuple[str | None, int, int]:
    result = subprocess.run([sys.executable, "-c", _TOUCH_TABLES, str(path), how],
                            capture_output=True, text=True, check=True)
    reason, tables, mapped = result.stdout.splitlines()
    return ast.literal_eval(reason), int(tables), int(mapped)


def test_tables_are_read_without_mapping_them(tmp_path: Path) -> None:
    reason, tables, mapped = _touch_tables(tmp_path / "db", "first")
    assert reason is None
    assert tables >= 1
    assert mapped == 0


def test_leveldb_left_alone_maps_the_tables_it_reads(tmp_path: Path) -> None:
    """The check above can see a mapping: without the setting, the same reads map every table."""
    _, tables, mapped = _touch_tables(tmp_path / "db", "leveldb-alone")
    assert mapped == tables >= 1


def test_too_late_once_a_database_was_opened(tmp_path: Path) -> None:
    reason, tables, mapped = _touch_tables(tmp_path / "db", "plyvel-first")
    assert "opened in this process before the limit could be set" in reason
    assert mapped == tables >= 1


def test_a_limit_that_is_not_leveldbs_default_is_left_alone(tmp_path: Path) -> None:
    reason, tables, mapped = _touch_tables(tmp_path / "db", "other-default")
    assert "not LevelDB's default 999" in reason
    assert mapped == tables >= 1


def test_the_store_opens_its_databases_with_the_limit_set(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from corridor.ledger import leveldb_reads, store
        store._open(Path(sys.argv[1])).close()
        print(leveldb_reads.disable_table_mmap.cache_info().misses)
    """)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "db")], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["1"]  # the store's open made the call that does the work


def test_a_library_it_cannot_read_is_refused_with_the_reason(tmp_path: Path) -> None:
    library = tmp_path / "libleveldb.so"
    with pytest.raises(leveldb_reads._NotApplicable, match="cannot read"):
        leveldb_reads._symbols(str(library), {b"anything"})
    library.write_bytes(b"#!/bin/sh\n")
    with pytest.raises(leveldb_reads._NotApplicable, match="not a 64-bit little-endian ELF"):
        leveldb_reads._symbols(str(library), {b"anything"})
    library.write_bytes(b"\x7fELF\x02\x01" + bytes(20))
    with pytest.raises(leveldb_reads._NotApplicable, match="malformed"):
        leveldb_reads._symbols(str(library), {b"anything"})


def test_the_symbols_are_read_with_their_kind_and_size() -> None:
    library = leveldb_reads._library_mappings()[0].path
    symbols = leveldb_reads._symbols(library, {leveldb_reads._MMAP_LIMIT_SYMBOL, leveldb_reads._ENV_MADE_SYMBOL,
                                               leveldb_reads._EXPORTED_SYMBOL})
    assert symbols[leveldb_reads._MMAP_LIMIT_SYMBOL][1:] == (4, True)
    assert symbols[leveldb_reads._ENV_MADE_SYMBOL][1:] == (8, True)
    assert symbols[leveldb_reads._EXPORTED_SYMBOL].is_data is False  # a function
    with pytest.raises(leveldb_reads._NotApplicable, match="no_such_symbol 0 times, not once"):
        leveldb_reads._symbols(library, {b"no_such_symbol"})
