"""The registry as a service: the HTTP API (``api``), the portal (``portal``), and what the
server keeps in memory (``state``)."""
