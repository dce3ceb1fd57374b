"""Reading a YAML settings file without surprises: UTF-8 only, every scalar loaded without raising
(dates stay text for pydantic to parse), keys given twice refused, and the line and reader-counted
key (`news.feeds[2].kind`) of any node, for messages of the form `file:line: key: problem`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from digest.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """Safe YAML whose scalars never raise while loading: dates stay text (PyYAML's own timestamps
    raise a bare ValueError on 2026-02-30), and so does a number or boolean PyYAML cannot convert
    (`0b_`, `!!int many`); pydantic then parses them and names the key of a wrong one."""


def _text_if_invalid(construct):
    def constructor(loader: _Loader, node: yaml.ScalarNode) -> object:
        try:
            return construct(loader, node)
        except (ValueError, KeyError):
            return loader.construct_scalar(node)

    return constructor


for _tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"):
    _Loader.add_constructor(_tag, _text_if_invalid(yaml.SafeLoader.yaml_constructors[_tag]))
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)

_MERGE_TAG = "tag:yaml.org,2002:merge"  # `<<: *anchor` merges a mapping; its keys may be overridden


def error(path: Path, problems: list[tuple[int, str, str]]) -> ConfigError:
    """One ConfigError for every (line, key, message) found in `path`."""
    return ConfigError("; ".join(f"{path}:{line}: {key}: {message}" for line, key, message in problems))


def read(path: Path) -> str:
    """The text of `path`; raises ConfigError when it cannot be read or is not UTF-8 (naming the
    line and byte offset of the first byte that is not)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from exc


def parse(path: Path) -> tuple[yaml.Node | None, object]:
    """The YAML node tree of `path` (for the lines of messages) and the data it holds.

    Raises ConfigError when the file is not readable UTF-8 YAML or holds a key twice."""
    loader = _Loader(read(path))
    try:
        root = loader.get_single_node()
        duplicates = list(duplicate_keys(root))
        if duplicates:
            raise error(path, duplicates)
        return root, None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def join(key: str, part: str | int) -> str:
    """`key` extended by a mapping key or a list position (0-based in, counted from 1 out)."""
    if isinstance(part, int):
        return f"{key}[{part + 1}]"
    return f"{key}.{part}" if key else part


def duplicate_keys(
    node: yaml.Node | None, key: str = "", seen: set[int] | None = None
) -> Iterator[tuple[int, str, str]]:
    """(line, key, message) for every key given twice in one mapping: PyYAML would keep the last
    one silently. A key that overrides one merged in with `<<` is not a duplicate."""
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:  # an alias repeats a node already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from duplicate_keys(item, join(key, i), seen)
    elif isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key_node, value in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                yield from duplicate_keys(value, key, seen)
                continue
            name, line = key_node.value, key_node.start_mark.line + 1
            if name in lines:
                where = f"on line {line}" if lines[name] == line else f"at lines {lines[name]} and {line}"
                yield line, join(key, name), f"given twice, {where}"
            lines.setdefault(name, line)
            yield from duplicate_keys(value, join(key, name), seen)


def locate(root: yaml.Node | None, loc: tuple) -> tuple[int, str]:
    """The 1-based line of the YAML node at pydantic location `loc` (or of its nearest existing
    parent), and `loc` as a reader counts it: ("news", "feeds", 1, "kind") is `news.feeds[2].kind`."""
    node, line, key = root, root.start_mark.line if root is not None else 0, ""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            part = str(part)
            key_node, node = next(((k, v) for k, v in node.value if k.value == part), (None, None))
            line = key_node.start_mark.line if key_node is not None else line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            node = None
        key = join(key, part)
    return line + 1, key or "(top level)"
