"""The json format: ``Report.to_dict()`` (with ``schema_version``), indented and stable.

The text is exactly ``json.dumps(data, indent=2, ensure_ascii=False, default=str)``, written by
``dumps_indented``: the standard library encodes indented JSON with its slow pure-Python encoder
(its C encoder has no indentation), which took a large share of a scan of a big tree.
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any

from agentsentinel_cli.report.model import Report

_INDENT = "  "


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return encode_basestring(key)
    if isinstance(key, float):
        text = _float(key)
    elif key is True:
        text = "true"
    elif key is False:
        text = "false"
    elif key is None:
        text = "null"
    elif isinstance(key, int):
        text = int.__repr__(key)
    else:
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
    return encode_basestring(text)


def _write(value: Any, level: int, out: list[str]) -> None:
    kind = type(value)
    if kind is dict:
        _write_dict(value, level, out)
    elif kind is list or kind is tuple:
        _write_list(value, level, out)
    elif isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, list | tuple):
        _write_list(value, level, out)
    elif isinstance(value, dict):
        _write_dict(value, level, out)
    else:
        _write(str(value), level, out)


def _write_list(value: list[Any] | tuple[Any, ...], level: int, out: list[str]) -> None:
    if not value:
        out.append("[]")
        return
    inner = _NEWLINES[level + 1] if level + 1 < len(_NEWLINES) else "\n" + _INDENT * (level + 1)
    sep = "," + inner
    append = out.append
    append("[")
    for item in value:
        kind = type(item)
        if kind is str:
            append(inner + encode_basestring(item))
        elif kind is dict:
            append(inner)
            _write_dict(item, level + 1, out)
        else:
            append(inner)
            _write(item, level + 1, out)
        inner = sep
    append(_NEWLINES[level] + "]" if level < len(_NEWLINES) else "\n" + _INDENT * level + "]")


def _write_dict(value: dict[Any, Any], level: int, out: list[str]) -> None:
    if not value:
        out.append("{}")
        return
    inner = _NEWLINES[level + 1] if level + 1 < len(_NEWLINES) else "\n" + _INDENT * (level + 1)
    sep = "," + inner
    append = out.append
    append("{")
    for key, item in value.items():
        head = inner + (encode_basestring(key) if type(key) is str else _key(key)) + ": "
        inner = sep
        kind = type(item)
        if kind is str:  # the common cases, inline
            append(head + encode_basestring(item))
        elif kind is int:
            append(head + int.__repr__(item))
        elif item is None:
            append(head + "null")
        elif kind is bool:
            append(head + ("true" if item else "false"))
        elif kind is dict:
            append(head)
            _write_dict(item, level + 1, out)
        else:
            append(head)
            _write(item, level + 1, out)
    append(_NEWLINES[level] + "}" if level < len(_NEWLINES) else "\n" + _INDENT * level + "}")


_NEWLINES = tuple("\n" + _INDENT * level for level in range(16))


def dumps_indented(data: Any) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False, default=str)``, faster (no cycle check)."""
    out: list[str] = []
    _write(data, 0, out)
    return "".join(out)


def render_json(report: Report) -> str:
    return dumps_indented(report.to_dict()) + "\n"
