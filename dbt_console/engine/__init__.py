"""The engine: runs jobs. Imports the core (model, store, config), never the TUI."""
