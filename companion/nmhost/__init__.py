"""The native messaging host Chrome starts for the extension: a stdlib-only relay to the companion daemon.

Run as `cats-companion-host` or `python -m companion.nmhost`. It imports only the standard library
(and companion.errors, which does too) so that it starts in tens of milliseconds; see
native-messaging/PROTOCOL.md for what it does with each frame. Two of its modules are the contract
the daemon imports too, never copies: `wire` (protocol constants and framing) and `locations`
(the runtime dir, daemon.json, the socket, the log dir).
"""
