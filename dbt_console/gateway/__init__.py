"""The engine's Unix socket: how a teammate's CLI and dashboard reach the actions when
the store is not theirs to open (actions/remote.py is the other end)."""
