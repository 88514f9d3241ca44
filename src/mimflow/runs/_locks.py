"""Per-run claims: two writers on one store share the work instead of both computing every run.

Before computing run ``R`` a writer creates ``DIR/_claims/R.claim`` with ``O_CREAT | O_EXCL``
(atomic on POSIX and on NFSv3+), holding its host, pid and start time, and removes it when the run
is stored or has failed. A writer that finds a claim held by a live process does not compute the
run: a sweep moves on and comes back for it at the end (it is then usually stored by the other
sweep, and counted as ``reused``); a single run command waits for it. A claim whose process is dead
(same host) or older than :data:`CLAIM_STALE_SECONDS` (another host, whose processes cannot be seen)
is stale and is broken.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from pathlib import Path

__all__ = ["CLAIMS_DIR", "CLAIM_STALE_SECONDS", "claim_run", "claimed_by_other", "release_claim"]

CLAIMS_DIR = "_claims"
CLAIM_STALE_SECONDS = 24 * 3600.0
"""A claim from another host older than this is taken as abandoned (its writer cannot be checked)."""


def _host() -> str:
    return socket.gethostname().replace(os.sep, "_") or "host"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host still runs (a claim or staging folder of a dead one is stale)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim_path(out_dir, rid: str) -> Path:
    return Path(out_dir) / CLAIMS_DIR / f"{rid}.claim"


def _is_live(path: Path) -> bool:
    """True when the claim at ``path`` is held by a live writer (False if gone or stale)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    except (OSError, ValueError):  # being written right now, or garbage: judge by age alone
        try:
            return time.time() - path.stat().st_mtime < 60.0
        except OSError:
            return False
    if not isinstance(record, dict):
        return False
    if record.get("host") == _host():
        return pid_alive(int(record.get("pid", -1)))
    return age < CLAIM_STALE_SECONDS


def claim_run(out_dir, rid: str) -> bool:
    """Try to claim run ``rid`` of the store ``out_dir``; True when this process now holds it."""
    path = _claim_path(out_dir, rid)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.dumps({"host": _host(), "pid": os.getpid(), "time": time.time()})
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _is_live(path):
                return False
            try:  # stale: move it aside (one breaker wins the rename) and try again
                os.rename(path, path.with_name(f"{path.name}.stale-{secrets.token_hex(4)}"))
            except FileNotFoundError:
                pass
            for old in path.parent.glob(f"{path.name}.stale-*"):
                try:
                    old.unlink()
                except OSError:
                    pass
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(record)
        return True
    return False


def claimed_by_other(out_dir, rid: str) -> bool:
    """True when a live writer other than this process holds run ``rid``."""
    path = _claim_path(out_dir, rid)
    if not _is_live(path):
        return False
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return not (record.get("host") == _host() and int(record.get("pid", -1)) == os.getpid())
    except (OSError, ValueError):
        return True


def release_claim(out_dir, rid: str) -> None:
    """Remove this process's claim of ``rid`` (no-op when it holds none)."""
    path = _claim_path(out_dir, rid)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if record.get("host") == _host() and int(record.get("pid", -1)) == os.getpid():
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        try:
            path.parent.rmdir()  # leave no empty _claims folder behind (fails while others hold claims)
        except OSError:
            pass
