"""Delivery providers behind one interface: SMS gateway, SMTP, postal operator."""

from motcua.notification.providers.base import (
    OutgoingMessage,
    PostalParty,
    Provider,
    SendResult,
)

__all__ = ["OutgoingMessage", "PostalParty", "Provider", "SendResult"]
