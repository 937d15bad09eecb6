"""Line numbers of the nodes of a YAML file, so that a config error can name the line to fix.

Shared by the loaders of YAML config (assessment items, ranking methodologies): the document is
composed (not constructed) once, and every mapping key and sequence entry is mapped from its
path, e.g. ``("groups", 3, "indicators", 1, "curve")``, to its 1-based line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

NodePath = tuple[str | int, ...]


@dataclass
class YamlLines:
    lines: dict[NodePath, int] = field(default_factory=dict)  # key or entry → its line
    duplicates: list[tuple[NodePath, int]] = field(default_factory=list)  # repeated keys

    def line_of(self, path: NodePath) -> int | None:
        """The line of ``path``, or of its nearest ancestor present in the file."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def yaml_lines(text: str) -> YamlLines:
    """Map the nodes of ``text``; empty when it is not valid YAML (the parser reports that)."""
    found = YamlLines()
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return found
    _walk(root, (), found, set())
    return found


def _walk(node: yaml.Node | None, path: NodePath, found: YamlLines, stack: set[int]) -> None:
    if node is None or id(node) in stack:  # an alias back into its own ancestor
        return
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            child = (*path, key.value)
            line = key.start_mark.line + 1
            if child in found.lines:
                found.duplicates.append((child, line))
            else:
                found.lines[child] = line
            _walk(value, child, found, stack)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            found.lines[child] = item.start_mark.line + 1
            _walk(item, child, found, stack)
    stack.discard(id(node))
