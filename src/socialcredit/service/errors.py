"""Errors only the service raises: who is calling, and whether they may."""

from __future__ import annotations

from socialcredit.errors import LedgerError, SocialCreditError


class Unauthorized(SocialCreditError):
    """No key, or a key the registry does not know (HTTP 401)."""


class Forbidden(SocialCreditError):
    """A known key asking for something outside its role or domain (HTTP 403)."""


class Stale(LedgerError):
    """This server's view of a subject's records is older than the bound it answers within
    (HTTP 503: nothing is disclosed; another server, or the same one a moment later, can
    answer)."""
