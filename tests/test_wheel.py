"""The package as users get it: a wheel built from this tree and installed, not editable,
into a fresh venv. The editable install the suite runs from reads files straight from the
source tree, so a file left out of the wheel (the dashboard's stylesheet once) only shows
here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import stop_engine, tmux_dashboard, wait_for

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parent.parent
PACKAGE = REPO / "dbt_console"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy: an in-tree build writes build/ and *.egg-info into the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(PACKAGE, source / "dbt_console",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(source)], check=True)
    return next(out.glob("dbt_console-*.whl"))


def test_the_wheel_carries_every_file_of_the_package(wheel):
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = [str(f.relative_to(REPO)) for f in PACKAGE.rglob("*")
               if f.is_file() and "__pycache__" not in f.parts
               and str(f.relative_to(REPO)) not in shipped]
    assert not missing, f"left out of the wheel: {missing}"


def test_a_wheel_installed_in_a_fresh_venv_runs_the_demo_and_its_dashboard(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--quiet", "--no-deps", str(wheel)], check=True)
    # Its dependencies come from this venv's site-packages, added after its own: the
    # package itself can only come from the wheel (the editable install's finder lives in
    # a .pth file, which a path added this way does not run).
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True).stdout.strip()
    ours = next(p for p in sys.path if p.endswith("site-packages"))
    Path(site, "suite-deps.pth").write_text(ours + "\n")
    where = subprocess.run([str(python), "-c", "import dbt_console; print(dbt_console.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path).stdout
    assert where.startswith(site), where
    home = tmp_path / "home"
    env = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
    demo = subprocess.run([str(venv / "bin" / "dbt-console"), "demo", "--no-tui"], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    try:
        with tmux_dashboard(home, "wheel", exe=venv / "bin" / "dbt-console") as (_, screen):
            wait_for(lambda: "ride_audit" in screen() and "nightly" in screen(), timeout=60,
                     what=f"the dashboard's jobs table; the screen shows:\n{screen()}")
            assert "Error" not in screen() and "Traceback" not in screen()
    finally:
        stop_engine(home)
