"""The terminal dashboard. Reads the store and asks for actions through the same store
functions the CLI uses; never builds SQL and never starts a process itself."""
