"""Where dbt-console keeps its files, and the settings file. Nothing global: callers pass these."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dbt_console.errors import UserError
from dbt_console.inputlimits import shown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP_NAME = "dbt-console"
ENV_PATTERN = re.compile(r"[A-Za-z_*?][A-Za-z0-9_*?]{0,127}")
USER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path

    @property
    def store(self) -> Path:
        return self.data_dir / "dbt-console.db"

    @property
    def workspaces(self) -> Path:
        """Persistent git clones, one per job."""
        return self.data_dir / "workspaces"

    @property
    def runs(self) -> Path:
        """One directory per run: its target/ artifacts and dbt's own log files."""
        return self.data_dir / "runs"

    @property
    def helper_log(self) -> Path:
        """What the warm dbt helpers print on stderr (a failed warm-up's traceback)."""
        return self.data_dir / "warm-helpers.log"

    @property
    def demo(self) -> Path:
        return self.data_dir / "demo"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.toml"

    def run_dir(self, run_id: int) -> Path:
        return self.runs / str(run_id)


def resolve_paths(environ: Mapping[str, str] = os.environ) -> Paths:
    """DBT_CONSOLE_HOME puts everything under one directory; otherwise the user's
    platform data and config directories."""
    home = environ.get("DBT_CONSOLE_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(data_dir=root, config_dir=root)
    import platformdirs

    return Paths(data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
                 config_dir=Path(platformdirs.user_config_dir(APP_NAME)))


@dataclass(frozen=True)
class Settings:
    """settings.toml, all keys optional. Each has the meaning its comment gives."""

    # Runs executing at once across all jobs (one per job is always the limit).
    max_concurrent_runs: int = 2
    # A schedule missed while no engine ran is caught up when it is at most this old.
    catch_up_grace_minutes: int = 60
    # On SIGTERM, how long runs in flight may finish before they are cancelled.
    stop_grace_seconds: int = 60
    # Steps fork from a helper that has already imported dbt: about 2 s saved per step.
    # false runs every step as a plain `dbt` process.
    warm_starts: bool = True
    # How often the engine asks each on_push job's git remote for its branch head.
    push_poll_seconds: int = 60
    # The account id in the HTTP API's paths (/api/v2/accounts/<id>/...): dbt Cloud's
    # clients need one; any number works as long as clients and this agree.
    api_account_id: int = 1
    # Retention, applied by the engine once a day and by `dbt-console prune`: a finished
    # run (its row, log and directory) goes when older than keep_runs_days, or when it is
    # past the keep_runs_per_job newest of its job. 0 turns either off. Each job's last
    # success and last failure, each open CI branch's latest run and the newest docs stay.
    keep_runs_days: int = 90
    keep_runs_per_job: int = 1000
    # The engine the dashboard starts in the background (when none runs) stops after
    # this many minutes with nothing queued or running, no schedule and no git remote to
    # watch. 0: as soon as it is idle.
    background_idle_minutes: int = 15
    # Names of the engine's environment variables every dbt step gets besides the few it
    # needs to run (PATH, HOME, LANG, TZ, proxies, certificates: stepenv.PASSED), as shell
    # patterns: ["SNOWFLAKE_*", "GOOGLE_APPLICATION_CREDENTIALS"]. Whatever is named can
    # be read by any job's SQL; a job takes a single variable with env: {X: ${X}}.
    pass_env: tuple[str, ...] = ()
    # A unix user every dbt step runs as, through sudo, so that dbt and a job's SQL cannot
    # read the store or the engine's environment (README, A shared server). "" runs them
    # as the engine's own user. Warm starts do not apply with it.
    run_as: str = ""
    # The SMTP server email hooks use when they give none: a table [smtp] with host, port,
    # starttls or ssl, username, password (always ${VAR}) and from (hooks/mail.py).
    smtp: Mapping[str, Any] = field(default_factory=dict)


DEFAULTS = Settings()


def load_settings(paths: Paths, environ: Mapping[str, str] = os.environ) -> Settings:
    """settings.toml, then DBT_CONSOLE_<NAME> variables, which win over it (as Prefect's
    PREFECT_* do): a systemd unit or a container can set one without writing the file."""
    path = paths.settings_file
    raw: dict[str, object] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: not valid TOML: {exc}") from None
    known = {f.name: getattr(DEFAULTS, f.name) for f in fields(Settings)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise UserError(f"{path}: unknown setting {key!r} (known: {', '.join(known)})")
        values[key] = _checked(str(path), key, known[key], value)
    for key, default in known.items():
        name = f"DBT_CONSOLE_{key.upper()}"
        if name in environ:
            values[key] = _checked(f"environment variable {name}", key, default,
                                   _from_text(environ[name], default))
    return Settings(**values)


def _from_text(text: str, default: object) -> object:
    """A variable's text as the TOML value it stands for."""
    if isinstance(default, bool):
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        return words.get(text.strip().lower(), text)
    if isinstance(default, tuple):
        return [v for v in re.split(r"[,\s]+", text) if v]
    if isinstance(default, int):
        return int(text) if text.strip().isascii() and text.strip().isdigit() else text
    return text


def _checked(where: str, key: str, default: object, value: object) -> object:
    if isinstance(default, Mapping):
        from dbt_console.hooks.mail import smtp_problems

        if problems := smtp_problems(value, key):
            raise UserError(f"{where}: " + "; ".join(problems))
        return value
    if isinstance(default, tuple):
        return _names(where, key, value)
    if isinstance(default, str):
        if not (isinstance(value, str) and (value == "" or USER_NAME.fullmatch(value))):
            raise UserError(f"{where}: {key} must be a unix user name, got "
                            f"{shown(repr(value))}")
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(f"{where}: {key} must be true or false, got {repr(value)[:200]}")
    elif isinstance(value, bool) or not isinstance(value, int) or value < _least(key):
        raise UserError(f"{where}: {key} must be a whole number >= {_least(key)}, got "
                        f"{repr(value)[:200]}")
    return value


def _names(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
            isinstance(v, str) and ENV_PATTERN.fullmatch(v) for v in value):
        raise UserError(f"{where}: {key} must be a list of variable names or patterns "
                        f"such as [\"SNOWFLAKE_*\"], got {shown(repr(value))}")
    return tuple(value)


def _least(key: str) -> int:
    return 0 if key.startswith("keep_") or key == "background_idle_minutes" else 1
