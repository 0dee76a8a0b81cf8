"""The settings window: its one-time links and cookie sessions, pages, and the routes only it calls."""
