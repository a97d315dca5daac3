"""The audit log's hash chain: how an entry's hash is made, and checked."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from socialcredit.registry.ledger.util import _utc
from socialcredit.registry.ledger.values import AccessRow, AuditEntry

GENESIS = "0" * 64


def _audit_hash(
    prev: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    purpose: str,
    detail: str | None,
) -> str:
    return _chain_hash(prev, seq, _utc(at).isoformat(), actor, action, subject, purpose, detail)


_AUDIT_ROWS_PER_INSERT = 100  # 900 parameters, within SQLite's limit of 32,766


@lru_cache(maxsize=256)
def _audit_insert(rows: int, ph: str = "?") -> str:
    one = "(" + ", ".join([ph] * 9) + ")"
    return (
        "INSERT INTO audit_log (seq, at, actor, action, subject, purpose, detail, prev_hash, "
        "hash) VALUES " + ", ".join([one] * rows)
    )


def _subjects_digest(subjects: Sequence[str]) -> str:
    """SHA-256 of a write's touched subjects, sorted, one per line."""
    digest = hashlib.sha256()
    for subject in subjects:
        digest.update(subject.encode() + b"\n")
    return digest.hexdigest()


def chain_entries(
    entries: Sequence[AccessRow], head: tuple[int, str], stamp: str, at: Any
) -> tuple[list[tuple[Any, ...]], tuple[int, str]]:
    """``entries`` as audit rows (``seq, at, actor, action, subject, purpose, detail,
    prev_hash, hash``) that follow ``head`` (the log's last seq and hash) in the chain, written
    at ``stamp`` (UTC ISO time; ``at`` as the store takes it); and the new head."""
    return chain_rows([(stamp, at, *entry) for entry in entries], head)


def chain_rows(
    entries: Sequence[tuple[Any, ...]], head: tuple[int, str]
) -> tuple[list[tuple[Any, ...]], tuple[int, str]]:
    """:func:`chain_entries` for entries each with its own time: ``(stamp, at, actor, action,
    subject, purpose, detail)`` (the read journal's, chained after the reads were made)."""
    seq, prev = head
    rows: list[tuple[Any, ...]] = []
    for stamp, at, actor, action, subject, purpose, detail in entries:
        seq += 1
        digest = _chain_hash(prev, seq, stamp, actor, action, subject, purpose, detail)
        rows.append((seq, at, actor, action, subject, purpose, detail, prev, digest))
        prev = digest
    return rows, (seq, prev)


def chain_content(entry: AccessRow) -> None:
    """Raise ``orjson.JSONEncodeError`` if ``entry`` could never be hashed into the chain (a
    text that is not Unicode: a lone surrogate), before it is accepted anywhere."""
    orjson.dumps(entry)


def _chain_hash(
    prev: str,
    seq: int,
    stamp: str,
    actor: str,
    action: str,
    subject: str | None,
    purpose: str,
    detail: str | None,
) -> str:
    """An audit entry's hash: its predecessor's hash and its content (``stamp``: the UTC
    ISO time of the entry: when a read was made, when a write was written)."""
    content = orjson.dumps([seq, stamp, actor, action, subject, purpose, detail])
    return hashlib.sha256(prev.encode() + content).hexdigest()


def _audit_entry(row: Any) -> AuditEntry:
    detail = orjson.loads(row.detail) if row.detail is not None else None
    return AuditEntry(
        row.seq,
        _utc(row.at),
        row.actor,
        row.action,
        row.subject,
        row.purpose,
        detail,
        row.prev_hash,
        row.hash,
    )
