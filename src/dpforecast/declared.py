"""The one reader of what users declare in YAML: ``params.yaml``, profiles and data set specs.

Each file's shape is a set of dataclasses whose field docstrings say what a key means;
pydantic (v2) checks a file against them (strictly: ``"3"`` is not 3, ``true`` is not 1,
unknown keys are refused), gives the JSON Schema editors complete and check keys with
(``dpforecast schema spec|params``) and the reference page
(``docs/reference.md``). Its errors are turned into one message naming the file and the
dotted key, in the words the rest of dpforecast uses.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from dpforecast.errors import ConfigError

#: The pydantic configuration of every declared dataclass (``__pydantic_config__``).
DECLARED = ConfigDict(extra="forbid", use_attribute_docstrings=True)

T = TypeVar("T")
_KINDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
    "dict_type": "a mapping", "dataclass_type": "a mapping", "model_type": "a mapping", "none_required": "null",
}
_EXTRA = ("extra_forbidden", "unexpected_keyword_argument")
_MISSING = ("missing", "missing_argument")


def _is_tag(part: Any) -> bool:
    """A union member's tag in an error location (``int``, ``str``, ``literal['a']``, a class)."""
    text = str(part)
    return text in ("int", "str", "float", "bool", "none") or text.startswith(("literal[", "function-")) or \
        text[:1].isupper()


def _dotted(loc: tuple[Any, ...]) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in loc if not _is_tag(p) and p != "[key]"]
    return ".".join(parts).replace(".[", "[")


def _line(key: str, text: str) -> str:
    return f"{key}: {text}" if key else text


def _got(value: Any) -> str:
    return repr(value) if not isinstance(value, dict) else "a mapping"


def message(error: ValidationError, noun: str = "key") -> str:
    """The problems, each starting with its dotted key, joined by ``; ``."""
    unknown: dict[str, list[str]] = defaultdict(list)
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in error.errors(include_url=False):
        loc = tuple(e["loc"])
        if e["type"] in _EXTRA:
            unknown[_dotted(loc[:-1])].append(str(loc[-1]))
        else:
            by_key[_dotted(loc)].append(e)
    lines = [_line(key, f"unknown {noun}(s) {', '.join(sorted(names))}") for key, names in sorted(unknown.items())]
    for key, errors in by_key.items():
        first = errors[0]
        if first["type"] in _MISSING:
            lines.append(_line(key, f"required {noun} is missing"))
        elif first["type"] == "literal_error":
            allowed = first["ctx"]["expected"].replace("'", "").replace(" or ", ", ")
            lines.append(_line(key, f"must be one of {allowed}, got {_got(first['input'])}"))
        elif all(e["type"] in _KINDS for e in errors):
            kinds = " or ".join(dict.fromkeys(_KINDS[e["type"]] for e in errors))
            lines.append(_line(key, f"expected {kinds}, got {_got(first['input'])}"))
        else:
            lines.append(_line(key, first["msg"]))
    return "; ".join(lines)


def read(kind: type[T], raw: Any, where: str, error: type[ConfigError] = ConfigError, noun: str = "key") -> T:
    """``raw`` (as YAML gave it) checked against ``kind``; ``error`` starts with ``where`` (the
    file, or nothing) then the dotted key.

    Checked as JSON would be (strict: YAML's ``yes`` or ``"3"`` never pass for a boolean or
    a number), so what a file may hold is exactly what its JSON Schema says."""
    try:
        text = json.dumps(raw, default=str)
    except ValueError as exc:  # a circular YAML alias
        raise error(f"{where}: cannot be read as data ({exc})") from None
    try:
        return TypeAdapter(kind).validate_json(text, strict=True)
    except ValidationError as exc:
        raise error(_line(where, message(exc, noun))) from None


def schema(kind: type, title: str) -> dict[str, Any]:
    """The JSON Schema of a declared file (draft 2020-12, as pydantic writes it)."""
    out = TypeAdapter(kind).json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **out, "title": title}
