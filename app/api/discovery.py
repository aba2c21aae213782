"""The file through which the CLI finds the API of the process holding the data directory.

``<data dir>/api.json`` holds the API's URL, a random local credential and the pid. It is
created with mode 0600 (only the owner of the data directory can read the credential),
replaced atomically, and removed when the process stops. A file left by a process that died
is recognised by its pid and ignored.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RUNTIME_FILE",
    "RuntimeFile",
    "new_local_token",
    "read_runtime_file",
    "remove_runtime_file",
    "write_runtime_file",
]

RUNTIME_FILE = "api.json"


@dataclass(frozen=True)
class RuntimeFile:
    """Where the running process serves its API and the credential the local CLI uses."""

    url: str
    token: str
    pid: int


def new_local_token() -> str:
    """A fresh random credential for this process's lifetime."""
    return secrets.token_urlsafe(32)


def write_runtime_file(data_dir: Path, runtime: RuntimeFile) -> Path:
    """Write ``api.json`` (0600, atomically) and return its path."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / RUNTIME_FILE
    staging = data_dir / f".{RUNTIME_FILE}.{os.getpid()}"
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing staging file keeps its mode otherwise
        os.write(fd, json.dumps({"url": runtime.url, "token": runtime.token,
                                 "pid": runtime.pid}).encode())  # fmt: skip
    finally:
        os.close(fd)
    os.replace(staging, path)
    return path


def remove_runtime_file(data_dir: Path, runtime: RuntimeFile) -> None:
    """Remove ``api.json`` if it is still this process's (a newer process may own it)."""
    found = read_runtime_file(data_dir, check_alive=False)
    if found is not None and found.token == runtime.token:
        (data_dir / RUNTIME_FILE).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def read_runtime_file(data_dir: Path, *, check_alive: bool = True) -> RuntimeFile | None:
    """The running process's API, or None when there is none (no file, unreadable, stale)."""
    path = data_dir / RUNTIME_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        runtime = RuntimeFile(url=str(raw["url"]), token=str(raw["token"]), pid=int(raw["pid"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check_alive and not _alive(runtime.pid):
        return None
    return runtime
