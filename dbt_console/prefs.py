"""The dashboard's preferences, each unix user's own (a team shares one store and its
settings.toml, not a theme): `dashboard.toml` in the user's config directory."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import tomllib


@dataclass(frozen=True)
class Prefs:
    theme: str | None = None  # a Textual theme's name; None: textual-dark
    mouse: bool = True        # false: the mouse is left to the terminal (select, paste)


TYPES = {"theme": str, "mouse": bool}

def path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("dbt-console")) / "dashboard.toml"


def load() -> tuple[Prefs, str | None]:
    """The saved preferences, and a warning when the file could not be used (the
    dashboard then starts with the defaults rather than not at all)."""
    file = path()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Prefs(), None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Prefs(), f"{file}: not read ({exc}); using the defaults"
    for key, value in raw.items():
        if not isinstance(value, TYPES.get(key, ())):
            return Prefs(), (f"{file}: {key} = {value!r} is not a preference (theme = "
                             "\"NAME\", mouse = true|false); using the defaults")
    return Prefs(**raw), None


def save(prefs: Prefs) -> None:
    """Write the file whole, then move it in place: never half a file."""
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{key} = {json.dumps(value)}" for key, value in asdict(prefs).items()
             if value is not None]  # a JSON string or boolean is a TOML one too
    temp = file.with_suffix(".tmp")
    temp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temp, file)
