"""Which dbt-core dbt-console is tested with (the range every adapter extra in
pyproject.toml pins), and whether the one installed beside it is in that range."""

from __future__ import annotations

TESTED = ((1, 10), (1, 12))  # from 1.10 up to, not including, 1.12
TESTED_WORDS = "1.10 and 1.11"


def installed() -> str | None:
    """The dbt-core version installed beside dbt-console, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dbt-core")
    except PackageNotFoundError:
        return None


def untested(found: str | None) -> str | None:
    """A warning when `found` is outside the tested range, else None."""
    if found is None:
        return None
    try:
        major_minor = tuple(int(p) for p in found.split(".")[:2])
    except ValueError:
        return f"dbt-core {found}: a version dbt-console cannot read; tested: {TESTED_WORDS}"
    if TESTED[0] <= major_minor < TESTED[1]:
        return None
    return (f"dbt-core {found} is installed, but dbt-console is tested with {TESTED_WORDS}: "
            "install an extra, e.g. pip install 'dbt-console[postgres]', which pins it")
