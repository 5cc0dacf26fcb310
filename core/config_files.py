"""The configuration's files (SPEC §5): YAML read with the rules an admin expects (`NO` stays
Norway, an amount keeps the digits it was written with, a key given twice is an error), files
laid over the packaged defaults, and each key path noted with the file that set it, so that
every problem `load_settings` reports names its file."""

from __future__ import annotations

import ast
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import BadInput
from .limits import MAX_DEPTH, check_depth


class Invalid(ValueError):
    """A value we refuse; its text is already the user-facing "what was expected"."""


def show(value: Any) -> str:
    """A value as the YAML author wrote it, for error lines."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value) if isinstance(value, str) else str(value)


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false: `NO` stays Norway) and floats that keep their text."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key.value!r}", key.start_mark
                    )
                seen.add(key.value)
        return yaml.constructor.SafeConstructor.construct_mapping(self, node, deep)


class _YamlFloat(float):
    """A float from YAML that remembers how it was written, for exact amounts."""

    text: str

    def __new__(cls, value: float, text: str | None = None) -> _YamlFloat:
        self = super().__new__(cls, value)
        self.text = str(value) if text is None else text
        return self


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """`_Loader`'s rules over libyaml's parser, many times faster than PyYAML's own: every
    command reads the packaged defaults (issue 18 item 1). A file it refuses is read again with
    `_Loader`, whose messages name the line and column."""

    construct_mapping = _Loader.construct_mapping


def _yaml_float(loader: yaml.SafeLoader, node: yaml.Node) -> _YamlFloat:
    assert isinstance(node, yaml.ScalarNode)
    return _YamlFloat(loader.construct_yaml_float(node), node.value)


_BOOL = "tag:yaml.org,2002:bool"
for _cls in (_Loader, _FastLoader):
    _cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF")
    _cls.add_constructor("tag:yaml.org,2002:float", _yaml_float)


Origins = dict[tuple[str, ...], str]  # key path (as a tuple of keys) -> the file that last set it


def _parse(file: Any, top_level_keys: tuple[str, ...]) -> dict:
    """One file's top-level mapping; raises `_Invalid` holding whole error lines."""
    try:
        text = file.read_text(encoding="utf-8")
        try:
            doc = yaml.load(text, Loader=_FastLoader)
        except yaml.MarkedYAMLError as exc:
            if exc.problem == "exceeded maximum nesting depth":  # libyaml's own bound
                raise  # the pure-Python parser would recurse into it level by level
            doc = yaml.load(text, Loader=_Loader)  # for its wording of what is wrong, and where
        except yaml.YAMLError:
            doc = yaml.load(text, Loader=_Loader)
        check_depth(str(file), doc)  # what is read below recurses into it
    except FileNotFoundError:
        raise Invalid(f"{file}: no such file or folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"{file}: cannot read the file ({exc})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise Invalid(f"{file}: YAML syntax error{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise Invalid(f"{file}: YAML syntax error: {exc}") from None
    except RecursionError:  # the YAML parsers recurse per level of nesting
        raise Invalid(f"{file}: nested deeper than {MAX_DEPTH} levels") from None
    except BadInput as exc:
        raise Invalid(exc.message) from None
    if not isinstance(doc, dict):
        got = "the file is empty" if doc is None else f"got {show(doc)}"
        raise Invalid(f"{file}: expected a mapping of {', '.join(top_level_keys)}; {got}")
    unknown = [f"{file}: unknown key {k!r} @ $" for k in doc if k not in top_level_keys]
    if unknown:
        raise Invalid("\n".join(unknown))
    return doc


def _merge(base: dict, over: dict, name: str, origins: Origins, path: tuple = ()) -> None:
    """Deep-merge `over` into `base` (mappings merge, the rest replaces), noting who set what."""
    for key, value in over.items():
        here = (*path, key)
        if not (isinstance(value, dict) and isinstance(base.get(key), dict)):
            for replaced in [p for p in origins if p[: len(here)] == here]:
                del origins[replaced]
            base[key] = {} if isinstance(value, dict) else value
        if isinstance(value, dict):
            _merge(base[key], value, name, origins, here)
        origins[here] = name


def read_layers(
    files: list[Any], problems: list[str], top_level_keys: tuple[str, ...]
) -> tuple[dict, Origins]:
    """Files (paths, or the packaged resource) deep-merged in order, later wins."""
    data: dict = {}
    origins: Origins = {}
    for file in files:
        try:
            _merge(data, _parse(file, top_level_keys), str(file), origins)
        except Invalid as exc:
            problems.extend(str(exc).splitlines())
    return data, origins


def packaged_defaults() -> Any:
    try:
        return resources.files("postsales.config") / "postsales.yaml"
    except ModuleNotFoundError:  # running from a checkout that is not installed
        return Path(__file__).resolve().parent.parent / "config" / "postsales.yaml"


_STEP = re.compile(r"\.(\w+)|\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+)\]")


def locate(line: str, origins: Origins, fallback: str) -> str:
    """Prefix a "what @ $.path" line with the file that set the longest known prefix of its path."""
    steps = tuple(m[1] or ast.literal_eval(m[2]) for m in _STEP.finditer(line.rpartition(" @ ")[2]))
    for n in range(len(steps), 0, -1):
        if steps[:n] in origins:
            return f"{origins[steps[:n]]}: {line}"
    return f"{fallback}: {line}"
