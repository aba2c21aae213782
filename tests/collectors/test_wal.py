"""The write-ahead log: framing, torn tails, sealing, group commit from many threads."""

from __future__ import annotations

import threading
from pathlib import Path

from collectors.wal import WriteAheadLog, read_records


def test_append_seal_read_remove(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.append(b"one", 1)
    wal.append(b"two" * 100, 2)
    assert wal.active_rows == 3
    segment = wal.seal()
    assert segment is not None and segment.rows == 3
    assert wal.read(segment.path) == [b"one", b"two" * 100]
    assert wal.seal() is None  # nothing new
    wal.remove(segment.path)
    assert not segment.path.exists()
    wal.close()
    assert not list(tmp_path.glob("*.wal"))  # the empty active segment is gone too


def test_leftovers_are_found_in_order_and_new_names_sort_after(tmp_path: Path) -> None:
    first = WriteAheadLog(tmp_path)
    first.append(b"a", 1)
    sealed = first.seal()
    first.append(b"b", 1)  # active, never sealed: a crash leaves it behind
    second = WriteAheadLog(tmp_path)
    assert sealed is not None
    assert second.leftovers[0] == sealed.path and len(second.leftovers) == 2
    second.append(b"c", 1)
    newest = second.seal()
    assert newest is not None and newest.path.name > second.leftovers[-1].name


def test_torn_tail_is_dropped() -> None:
    framed = b"\x03abc" + b"\x05de"  # second record claims 5 bytes, has 2
    assert read_records(framed) == [b"abc"]
    assert read_records(b"\x03abc\x80") == [b"abc"]  # a cut varint


def test_concurrent_appends_all_survive(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(50):
            wal.append(f"{n}-{i}".encode(), 1)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    segment = wal.seal()
    assert segment is not None and segment.rows == 400
    assert sorted(wal.read(segment.path)) == sorted(
        f"{n}-{i}".encode() for n in range(8) for i in range(50)
    )
