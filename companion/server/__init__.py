"""The companion daemon: loopback HTTP API and per-user socket (start it with companion.server.daemon)."""
