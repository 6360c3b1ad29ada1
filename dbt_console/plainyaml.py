"""YAML as jobs are written: PyYAML's safe loader without anchors and aliases (a file of
nested aliases, a "billion laughs", hung `jobs import` for minutes) and with every key of
a mapping given once (a second `jobs:` silently dropped the first list). Pure."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ComposerError(None, None, "anchors and aliases (& and *) are not allowed: "
                                "write each value out", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = lines.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: the constructor says why
                continue
            if first != key_node.start_mark.line + 1:
                raise ConstructorError(None, None, f"{key!r} is given twice (first on line "
                                       f"{first})"[:200], key_node.start_mark)
        return super().construct_mapping(node, deep)


def load(text: str) -> Any:
    """The YAML text's data, or yaml.YAMLError naming the problem and its line."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
