"""Talking to CATS API v3: the client, its rate budget and retry policy, and the record models.

Import what you need from its module; this package imports none of them, so that the pure ones
(`models`, `record_urls`) can be used without loading the HTTP stack (tests/test_layers.py):

    client       CatsClient, CatsResponse, ConnectionInfo: the one request path (aiohttp)
    errormap     CATS answers and transport failures -> companion.errors
    budget       RateBudget with its interactive reserve, Priority, Clock
    retry        RetryPolicy: which requests may be repeated, and when
    pages        Page, EventPage: HAL pages
    models       the READ and WRITE shapes of CATS records (pure pydantic)
    record_urls  record ids in Location headers and HAL hrefs (pure)
"""
