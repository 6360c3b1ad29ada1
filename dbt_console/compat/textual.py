"""Where the dashboard leans on Textual's internals, each in one place, said, and checked.

Each use below says what it relies on. `problems()` checks all of it against the Textual
installed (tests/test_compat.py fails when an upgrade changes any of it); where one is
gone, the dashboard keeps Textual's plain behaviour and warns once, rather than break.
"""

from __future__ import annotations

import selectors
import types
import warnings


def textual_version() -> str:
    from importlib.metadata import version  # here: it costs the dashboard's start 10 ms

    return version("textual")


def problems() -> list[str]:
    """What this module relies on that the installed Textual no longer has."""
    from textual import constants
    from textual.app import App

    found = []
    if not hasattr(constants, "ESCAPE_DELAY"):
        found.append("textual.constants.ESCAPE_DELAY (how long a lone Escape waits)")
    import inspect

    check = getattr(App, "_check_bindings", None)
    if check is None or "priority" not in inspect.signature(check).parameters:
        found.append("App._check_bindings(key, priority) (a key's bindings, run now)")
    for module in _input_drivers():
        source = _source(module)
        if "selectors.SelectSelector()" not in source:
            found.append(f"{module.__name__}'s input thread no longer makes its selector "
                         "as selectors.SelectSelector()")
    return found


def _input_drivers() -> list[types.ModuleType]:
    from textual.drivers import linux_driver

    return [linux_driver]


def _source(module: types.ModuleType) -> str:
    """A module's source, read as a file: `inspect` would cost the dashboard's start."""
    with open(module.__file__, encoding="utf-8") as f:
        return f.read()


def _warn(what: str) -> None:
    warnings.warn(f"dbt-console: Textual {textual_version()} changed {what}; the dashboard uses "
                  "Textual's plain behaviour there", RuntimeWarning, stacklevel=3)


def answer_escape_sooner(driver_module: types.ModuleType, wait: float) -> bool:
    """A lone Escape is a key after `wait` seconds, and the driver's input loop looks at
    least that often. Relies on `textual.constants.ESCAPE_DELAY` and on the driver's input
    thread making `selectors.SelectSelector()` from its module's `selectors` global (the
    loop's own selector, and only it, is swapped). False: left as Textual has it."""
    from textual import constants

    source = _source(driver_module)
    if not hasattr(constants, "ESCAPE_DELAY") or "selectors.SelectSelector()" not in source:
        _warn("how its driver waits for the rest of an escape sequence")
        return False
    constants.ESCAPE_DELAY = wait

    class Prompt(selectors.SelectSelector):
        def select(self, timeout: float | None = None):
            return super().select(wait if timeout is None else min(timeout, wait))

    prompt = types.ModuleType("selectors")
    prompt.__dict__.update(vars(selectors), SelectSelector=Prompt)
    driver_module.selectors = prompt
    return True


async def check_bindings(app, key: str, priority: bool = False) -> bool:
    """Run `key`'s binding on `app` now (priority bindings only, with `priority`); True
    when one ran. Relies on `App._check_bindings(key, priority=...)`; without it, False:
    the key goes the way Textual sends keys (focused widget first)."""
    check = getattr(app, "_check_bindings", None)
    if check is None:
        _warn("App._check_bindings")
        return False
    return await check(key, priority=priority)
