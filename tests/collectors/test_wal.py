"""The write-ahead log: framing, torn tails, sealing, group commit, disk full, retention."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.internal.encoder import _VarintBytes  # type: ignore[attr-defined]
from hypothesis import given
from hypothesis import strategies as st

from collectors.wal import (
    WriteAheadLog,
    frame,
    prune_quarantine,
    quarantined,
    read_records,
    read_varint,
    varint,
)


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


@given(st.integers(0, 2**64 - 1))
def test_varint_round_trips_like_protobuf(value: int) -> None:
    encoded = varint(value)
    assert encoded == _VarintBytes(value)  # protobuf's own encoder agrees (test only)
    assert read_varint(b"\x07" + encoded + b"tail", 1) == (value, 1 + len(encoded))


def test_varint_reader_refuses_cut_and_overlong_input() -> None:
    assert read_varint(b"\xac\x02", 0) == (300, 2)
    with pytest.raises(IndexError):
        read_varint(b"\xac", 0)  # cut short
    with pytest.raises(ValueError, match="longer than 10 bytes"):
        read_varint(b"\xff" * 11, 0)
    with pytest.raises(ValueError):
        varint(-1)
    assert read_records(b"\xff" * 11) == []  # not a length prefix: dropped as torn


def test_leftover_rewrite_is_atomic(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    target = tmp_path / "00000000000000000001.wal"
    target.write_bytes(frame(b"keep") + frame(b"drop") + b"\x09torn")
    size = wal.rewrite(target, [b"keep"])
    assert target.read_bytes() == frame(b"keep") and size == len(frame(b"keep"))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".wal")) == []


def _quarantined(wal_dir: Path, name: str, size: int, age_days: float) -> Path:
    folder = wal_dir / "quarantine" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    segment = folder / f"{name}.wal"
    segment.write_bytes(b"x" * size)
    reason = segment.with_suffix(".reason")
    reason.write_text("why\n")
    stamp = time.time() - age_days * 86_400
    os.utime(reason, (stamp, stamp))
    return segment


def test_quarantine_retention_prunes_by_age_then_oldest_first_by_size(tmp_path: Path) -> None:
    ancient = _quarantined(tmp_path, "1", 10, age_days=40)
    old = _quarantined(tmp_path, "2", 100, age_days=3)
    middle = _quarantined(tmp_path, "3", 100, age_days=2)
    new = _quarantined(tmp_path, "4", 100, age_days=1)
    pruned = prune_quarantine(tmp_path, max_age_seconds=30 * 86_400, max_bytes=250)
    assert pruned == [ancient, old]  # too old; then the oldest until 200 <= 250
    assert [q.segment for q in quarantined(tmp_path)] == [middle.name, new.name]
    assert not old.with_suffix(".reason").exists()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB file system (tmpfs), where the machine lets this process mount one."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 1 MiB tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_disk_full_never_leaves_a_torn_record(tiny_disk: Path) -> None:
    wal = WriteAheadLog(tiny_disk / "wal")
    record = b"r" * 100_000
    written = 0
    with pytest.raises(OSError) as failure:
        for _ in range(20):  # 2 MB into 1 MiB: the disk fills in the middle of a record
            wal.append(record, 1)
            written += 1
    assert failure.value.errno == errno.ENOSPC and 0 < written < 20
    segment = wal.seal()
    assert segment is not None and segment.rows == written
    assert segment.path.stat().st_size == written * len(frame(record))  # nothing torn
    assert wal.read(segment.path) == [record] * written
    wal.remove(segment.path)
    wal.append(b"room again", 1)  # freed space: the log goes on
    again = wal.seal()
    assert again is not None and wal.read(again.path) == [b"room again"]
