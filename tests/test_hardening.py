"""What a careless user's environment or a crash must not change: file modes whatever
the umask, nothing left in /tmp by a killed engine."""

from __future__ import annotations

import os
import stat

from conftest import binary


def test_everything_under_the_data_directory_is_owner_and_group_only(tmp_path):
    home = tmp_path / "home"

    def loose_umask() -> None:
        os.umask(0o022)  # the usual shell default: files 0644, directories 0755

    assert binary(home, "demo", "--no-tui", preexec_fn=loose_umask).code == 0
    run = binary(home, "run", "nightly", "--wait", preexec_fn=loose_umask)
    assert run.code == 0, run.out + run.err
    paths = [p for p in home.rglob("*") if not p.is_symlink()]
    assert any(p.name == "dbt.log" for p in paths) and any(
        p.name == "run_results.json" for p in paths)
    readable_by_others = [str(p) for p in paths if stat.S_IMODE(p.stat().st_mode) & 0o007]
    assert readable_by_others == []
