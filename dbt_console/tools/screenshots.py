"""Make the README's screenshots: the dashboard on the demo, as SVGs in screenshots/.

    python -m dbt_console.tools.screenshots [OUT_DIR]

Runs the demo's nightly (succeeds) and ride_audit (fails) for real in a temp home, then
opens the app headless at 100x30 and saves each main screen, then the failed run at 80x24.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path


async def run_screen_drawn(pilot) -> None:
    """The run screen's first frame (read on a worker) and its log's pages are in."""
    from dbt_console.tui.widgets.log_view import LogView

    def drawn() -> bool:
        screen = pilot.app.screen
        if not getattr(screen, "keys_ready", False):
            return False
        log = screen.query_one(LogView)
        return all(log.line(i) for i in range(log.line_count))

    while not drawn():
        await pilot.pause(0.05)
    await pilot.pause(0.3)  # Textual paints what came in on its next refresh


async def _shoot(out: Path) -> list[Path]:
    from dbt_console.config import resolve_paths
    from dbt_console.tui.app import DbtConsoleApp

    app = DbtConsoleApp(resolve_paths(), start_engine=False)
    saved = []
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        saved.append(Path(app.save_screenshot("jobs.svg", path=str(out))))
        await pilot.press("down", "down", "enter")  # ride_audit, its failed run
        await run_screen_drawn(pilot)
        saved.append(Path(app.save_screenshot("run-failed.svg", path=str(out))))
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        saved.append(Path(app.save_screenshot("help.svg", path=str(out))))
    app = DbtConsoleApp(resolve_paths(), start_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:  # the smallest terminal we design for
        await pilot.pause(0.3)
        await pilot.press("down", "down", "enter")
        await run_screen_drawn(pilot)
        saved.append(Path(app.save_screenshot("run-80x24.svg", path=str(out))))
    return saved


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DBT_CONSOLE_HOME"] = tempfile.mkdtemp(prefix="dbt-console-shots-")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The same pictures on every machine: full colour, the default theme.
    os.environ.update(TERM="xterm-256color", COLORTERM="truecolor",
                      XDG_CONFIG_HOME=os.environ["DBT_CONSOLE_HOME"])
    os.environ.pop("NO_COLOR", None)
    from dbt_console.cli import main as cli

    cli(["demo", "--no-tui"])
    cli(["run", "nightly", "--wait"])
    cli(["run", "ride_audit", "--wait"])
    for path in asyncio.run(_shoot(out)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
