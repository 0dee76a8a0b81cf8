"""Use cases (cache sync, lookup, push, ...) on the CATS client and the store; no aiohttp.web here."""
