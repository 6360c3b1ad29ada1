"""Keys reach the widget the screen says, in the order they were typed, however fast.

Textual hands each key to the focused widget's own queue and runs a screen's bindings only
once the key has bubbled back up; a key typed meanwhile goes to whatever was focused when
it arrived. So `n` then a name typed at once sent the name to the jobs table (its `r` ran
a job), a character typed after Tab landed in the field before it, and keys typed before
a new screen had focused anything were dropped. Here:

- a screen that takes keys only when ready (KeysWhenReady) gets none until its on_mount
  has focused what it wants (the run screen: until its first frame, read on a worker, is
  drawn); keys typed before that wait, then arrive in order;
- outside text fields, a key's binding runs at once, before the next key is looked at,
  and so does Tab everywhere: the next key finds the focus the previous one left.
"""

from __future__ import annotations

from textual import events
from textual.message import Message

from dbt_console.compat.textual import check_bindings

# Keys whose binding runs at once even in a text field: they move the focus.
FOCUS_KEYS = ("tab", "shift+tab")


class KeysReady(Message):
    """A screen's focus is where it wants it: the keys typed meanwhile may go."""

    def __init__(self, screen) -> None:
        super().__init__()
        self.screen = screen


class KeysWhenReady:
    """A screen mixin: keys typed before its on_mount has run wait for it. Textual calls
    each class's on_mount, the screen's own first, so this one runs after the screen has
    asked for its focus (which Textual applies through the app's queue, ahead of this)."""

    keys_ready = False

    def on_mount(self) -> None:
        self.app.post_message(KeysReady(self))


class OrderedKeys:
    """An App mixin: see the module's docstring."""

    def _waiting_keys(self) -> list[events.Key]:
        if not hasattr(self, "_keys_waiting"):
            self._keys_waiting: list[events.Key] = []
        return self._keys_waiting

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)
            return
        if self.return_code is not None:  # Textual's: set once exit() was called
            return  # quitting: a key now would open what is being torn down

        waiting, self._keys_waiting = self._waiting_keys(), []
        # Keys still waiting go first: their screen may have closed before it was ready.
        await self._deliver([*waiting, event])

    async def on_keys_ready(self, message: KeysReady) -> None:
        message.screen.keys_ready = True
        waiting, self._keys_waiting = self._waiting_keys(), []
        await self._deliver(waiting)

    async def _deliver(self, keys: list[events.Key]) -> None:
        for index, key in enumerate(keys):
            if not getattr(self.screen, "keys_ready", True):
                # The screen is not ready (a key just opened it): the rest wait for it.
                self._keys_waiting = keys[index:]
                return
            if not await self._binding_now(key):
                await super().on_event(key)

    async def _binding_now(self, event: events.Key) -> bool:
        """Run the key's binding here and now, unless a text field should see it first."""
        if event.key == "escape" and self.screen.maximized is not None:
            return False  # Textual's own: escape gives a maximized widget its place back
        if await check_bindings(self, event.key, priority=True):
            return True
        # Imported here, on a key press: start-up, before the first frame, does without.
        from textual.widgets import Input, TextArea

        in_text = isinstance(self.focused, (Input, TextArea))
        if in_text and event.key not in FOCUS_KEYS:
            return False
        return await check_bindings(self, event.key)
