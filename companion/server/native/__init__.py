"""The native protocol's transport in the daemon: the endpoints the host calls, the session, dispatch."""
