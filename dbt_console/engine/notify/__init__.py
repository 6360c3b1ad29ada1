"""Notification hooks: what a run's state change sends, to whom, and delivery for sure.

payloads.py builds the bodies (pure); send.py makes one attempt; notifier.py turns run
state changes into delivery rows and sends them, retrying with backoff."""
