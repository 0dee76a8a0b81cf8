"""Talking to CATS API v3: the client, its rate budget and retry policy, and the record models."""

from __future__ import annotations

from companion.cats.budget import BudgetSnapshot, Clock, Priority, RateBudget, SystemClock
from companion.cats.client import CatsClient, CatsResponse, ConnectionInfo
from companion.cats.pages import EventPage, Page
from companion.cats.retry import RetryPolicy

__all__ = [
    "BudgetSnapshot",
    "CatsClient",
    "CatsResponse",
    "Clock",
    "ConnectionInfo",
    "EventPage",
    "Page",
    "Priority",
    "RateBudget",
    "RetryPolicy",
    "SystemClock",
]
