"""What dbt-console relies on inside Textual is still there (an upgrade that changes it
fails here, by name), and where it is gone the dashboard falls back to Textual's plain
behaviour with a warning instead of breaking."""

from __future__ import annotations

import asyncio
import types

import pytest

from dbt_console.compat import textual as compat

pytestmark = pytest.mark.unit


def test_the_installed_textual_has_everything_we_rely_on():
    assert compat.problems() == [], (
        f"Textual {compat.textual_version()} changed what dbt_console/compat/textual.py relies on")


def test_a_driver_without_the_selector_we_swap_is_left_alone_with_a_warning(tmp_path):
    source = tmp_path / "some_driver.py"
    source.write_text("import selectors\nSELECTOR = selectors.DefaultSelector\n")
    driver = types.ModuleType("some_driver")
    driver.__file__ = str(source)  # an input loop that makes its selector another way
    with pytest.warns(RuntimeWarning, match="plain behaviour"):
        assert compat.answer_escape_sooner(driver, 0.02) is False
    assert not hasattr(driver, "selectors")


def test_the_swapped_selector_wakes_the_input_loop_within_the_wait(monkeypatch):
    from textual import constants
    from textual.drivers import linux_driver

    monkeypatch.setattr(constants, "ESCAPE_DELAY", constants.ESCAPE_DELAY)
    monkeypatch.setattr(linux_driver, "selectors", linux_driver.selectors)
    assert compat.answer_escape_sooner(linux_driver, 0.02) is True
    assert constants.ESCAPE_DELAY == 0.02
    selector = linux_driver.selectors.SelectSelector()
    try:
        calls = []
        monkeypatch.setattr(type(selector).__mro__[1], "select",
                            lambda self, timeout=None: calls.append(timeout) or [])
        selector.select(None)
        selector.select(5.0)
        selector.select(0.001)
    finally:
        selector.close()
    assert calls == [0.02, 0.02, 0.001]


def test_bindings_without_textuals_check_go_the_plain_way_with_a_warning():
    class NoCheck:  # an App whose Textual has no _check_bindings
        pass

    class WithCheck:
        async def _check_bindings(self, key, priority=False):
            return (key, priority) == ("q", True)

    with pytest.warns(RuntimeWarning, match="_check_bindings"):
        assert asyncio.run(compat.check_bindings(NoCheck(), "q", priority=True)) is False
    assert asyncio.run(compat.check_bindings(WithCheck(), "q", priority=True)) is True
    assert asyncio.run(compat.check_bindings(WithCheck(), "q")) is False


# --- dbt (engine/warm/dbt_compat.py: what warm steps rely on inside dbt) ---------------

def test_the_installed_dbt_has_everything_warm_steps_rely_on():
    from dbt_console.engine.warm import dbt_compat as compat_dbt

    assert compat_dbt.problems() == [], "dbt changed what engine/warm/dbt_compat.py relies on"


def test_a_dbt_without_what_a_patch_relies_on_runs_plain_with_a_warning(monkeypatch):
    """Each use checks for its target first: gone, warm steps do what a cold dbt does."""
    from dbt_console.engine.warm import dbt_compat as compat_dbt

    monkeypatch.setitem(compat_dbt.RELIES_ON, "template cache",
                        ("dbt_common.clients.jinja", "template_cache.no_such_method"))
    monkeypatch.setitem(compat_dbt.RELIES_ON, "manifests",
                        ("dbt.parser.manifest", "NoSuchLoader.get_full_manifest"))
    assert any("no_such_method" in p for p in compat_dbt.problems())
    with pytest.warns(RuntimeWarning, match="template cache"):
        compat_dbt.compile_macros(types.SimpleNamespace(macros={"m": object()}))


def test_captured_manifests_are_the_ones_dbt_loads(monkeypatch):
    from dbt.parser.manifest import ManifestLoader

    from dbt_console.engine.warm import dbt_compat as compat_dbt

    monkeypatch.setattr(ManifestLoader, "get_full_manifest",
                        staticmethod(lambda *a, **k: ("a manifest", a)))
    found = compat_dbt.capture_manifests()
    assert ManifestLoader.get_full_manifest("config") == ("a manifest", ("config",))
    assert found == [("a manifest", ("config",))]
