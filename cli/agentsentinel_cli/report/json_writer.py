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
    if isinstance(value, str):
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
        if not value:
            out.append("[]")
            return
        inner = "\n" + _INDENT * (level + 1)
        out.append("[" + inner)
        first = True
        for item in value:
            if not first:
                out.append("," + inner)
            first = False
            if type(item) is str:
                out.append(encode_basestring(item))
            else:
                _write(item, level + 1, out)
        out.append("\n" + _INDENT * level + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = "\n" + _INDENT * (level + 1)
        out.append("{" + inner)
        first = True
        for key, item in value.items():
            head = _key(key) + ": " if first else "," + inner + _key(key) + ": "
            first = False
            kind = type(item)
            if kind is str:  # the common cases, inline
                out.append(head + encode_basestring(item))
            elif kind is int:
                out.append(head + int.__repr__(item))
            elif item is None:
                out.append(head + "null")
            else:
                out.append(head)
                _write(item, level + 1, out)
        out.append("\n" + _INDENT * level + "}")
    else:
        _write(str(value), level, out)


def dumps_indented(data: Any) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False, default=str)``, faster (no cycle check)."""
    out: list[str] = []
    _write(data, 0, out)
    return "".join(out)


def render_json(report: Report) -> str:
    return dumps_indented(report.to_dict()) + "\n"
