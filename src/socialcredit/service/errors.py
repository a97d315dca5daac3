"""Errors only the service raises: who is calling, and whether they may."""

from __future__ import annotations

from socialcredit.errors import SocialCreditError


class Unauthorized(SocialCreditError):
    """No key, or a key the registry does not know (HTTP 401)."""


class Forbidden(SocialCreditError):
    """A known key asking for something outside its role or domain (HTTP 403)."""
