"""API keys and portal sessions (only hashes of secrets are stored)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from socialcredit.errors import InputError, NotFound
from socialcredit.registry.ledger.core import LedgerCore
from socialcredit.registry.ledger.dialect import _translated
from socialcredit.registry.ledger.schema import t_api_keys, t_portal_sessions
from socialcredit.registry.ledger.util import _now, _utc
from socialcredit.registry.ledger.values import ApiKey, check_text


def _session_hash(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()


class KeyStore(LedgerCore):
    """API keys and portal sessions (only hashes of secrets are stored)."""

    def create_key(self, *, role: str, principal: str, label: str = "", actor: str) -> str:
        """A new API key; returns the token (``sc_<key id>_<secret>``), shown only now."""
        import secrets

        self._check_ready()
        label = check_text(label, "label", max_len=200, required=False)
        principal = check_text(principal, "principal", max_len=120)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        with _translated("creating an API key"), self._write() as conn:
            conn.execute(
                t_api_keys.insert().values(
                    key_id=key_id,
                    secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
                    role=role,
                    principal=principal,
                    label=label,
                    created_at=_now(),
                )
            )
            self._audit(
                conn,
                actor=actor,
                action="keys.create",
                subject=principal if role == "subject" else None,
                purpose="administration",
                detail={"key": key_id, "role": role, "principal": principal},
            )
        return f"sc_{key_id}_{secret}"

    def key_for(self, token: str) -> ApiKey | None:
        """The live key a token belongs to, or None (unknown, wrong secret, or revoked)."""
        self._check_ready()
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "sc":
            return None
        with _translated("reading API keys"), self._read() as conn:
            row = conn.execute(sa.select(t_api_keys).where(t_api_keys.c.key_id == parts[1])).first()
        if row is None or row.revoked_at is not None:
            return None
        import hmac

        digest = hashlib.sha256(parts[2].encode()).hexdigest()
        if not hmac.compare_digest(digest, row.secret_hash):
            return None
        return ApiKey(row.key_id, row.role, row.principal, row.label, row.created_at)

    def open_session(self, token: str, *, seconds: int) -> str | None:
        """Sign in with an API key: a new session id for the live key ``token`` belongs to,
        valid for ``seconds``; None if the key is unknown or revoked. Only the id's hash is
        stored; sessions that ended or expired over a day ago are cleared out meanwhile."""
        import secrets

        if seconds < 0:
            raise InputError("seconds", "a session lasts zero seconds or more")
        key = self.key_for(token)
        if key is None:
            return None
        session = f"ss_{secrets.token_urlsafe(32)}"
        now = _now()
        sessions = t_portal_sessions
        with _translated("opening a session"), self._write() as conn:
            stale = now - timedelta(days=1)
            conn.execute(
                sessions.delete().where(
                    sa.or_(sessions.c.expires_at < stale, sessions.c.ended_at < stale)
                )
            )
            conn.execute(
                sessions.insert().values(
                    session_hash=_session_hash(session),
                    key_id=key.key_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=seconds),
                )
            )
        return session

    def session_key(self, session: str) -> ApiKey | None:
        """The key a session was opened with, while the session is open (not ended, not
        expired) and the key live; otherwise None."""
        self._check_ready()
        if not session.startswith("ss_") or len(session) > 100:
            return None
        sessions, keys = t_portal_sessions, t_api_keys
        with _translated("reading sessions"), self._read() as conn:
            row = conn.execute(
                sa.select(sessions.c.expires_at, sessions.c.ended_at, keys)
                .join(keys, keys.c.key_id == sessions.c.key_id)
                .where(sessions.c.session_hash == _session_hash(session))
            ).first()
        if row is None or row.ended_at is not None or row.revoked_at is not None:
            return None
        if _utc(row.expires_at) <= _now():
            return None
        return ApiKey(row.key_id, row.role, row.principal, row.label, row.created_at)

    def end_session(self, session: str) -> None:
        """Sign out: the session id stops working, wherever it was copied to."""
        self._check_ready()
        sessions = t_portal_sessions
        with _translated("ending a session"), self._write() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.session_hash == _session_hash(session))
                .where(sessions.c.ended_at.is_(None))
                .values(ended_at=_now())
            )

    def keys(self) -> list[ApiKey]:
        self._check_ready()
        with _translated("reading API keys"), self._read() as conn:
            rows = conn.execute(sa.select(t_api_keys).order_by(t_api_keys.c.created_at)).all()
        return [
            ApiKey(r.key_id, r.role, r.principal, r.label, r.created_at, r.revoked_at) for r in rows
        ]

    def revoke_key(self, key_id: str, *, actor: str) -> None:
        self._check_ready()
        with _translated("revoking an API key"), self._write() as conn:
            done = conn.execute(
                t_api_keys.update()
                .where(t_api_keys.c.key_id == key_id, t_api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
            if not done:
                raise NotFound(f"key: no live key {key_id!r}")
            self._audit(
                conn, actor=actor, action="keys.revoke", subject=None,
                purpose="administration", detail={"key": key_id},
            )  # fmt: skip
