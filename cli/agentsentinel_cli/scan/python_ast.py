"""The Python extractor: tools, agents and tool-list variables of one module, from its ``ast``.

Key contracts:
- Names are resolved through the module's imports before any framework table is consulted
  (aliases, ``import x as y``, relative imports made absolute against the module's own name).
- Tool lists are kept as ``Ref``s: module-level variables go to ``FileFacts.bindings`` (other
  modules may import them), function-local ones are expanded in place.
- Sinks are the calls of the tool's body, resolved through imports and simple local aliases
  (``c = httpx.Client()``, ``with ... as c``), plus those of same-module helpers it calls (one
  level) and, for class-based tools, of the methods it calls on ``self``. Only calls that
  ``agentsentinel.posture.sink_rule`` knows are kept.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from agentsentinel.posture import sink_rule
from agentsentinel_cli.scan import frameworks as fw
from agentsentinel_cli.scan.facts import AgentDef, FileFacts, Ref, ToolDef

_SKIPPED_PARAMS = frozenset(
    {"self", "cls", "run_manager", "callbacks", "config", "ctx", "context", "tool_call_id"}
)
_CONTEXT_TYPES = ("Context", "RunContext", "CallbackManagerForToolRun", "ToolContext", "Kernel")
_JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "List": "array",
    "Sequence": "array",
    "tuple": "array",
    "set": "array",
    "dict": "object",
    "Dict": "object",
    "Mapping": "object",
    "bytes": "string",
}
_FuncNode = ast.FunctionDef | ast.AsyncFunctionDef


def module_name(path: str) -> tuple[str, bool]:
    """Dotted module name of a display path (``pkg/tools.py`` -> ``pkg.tools``) and is-package."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    parts = [p for p in parts if p not in ("", ".", "..")]
    return ".".join(parts), is_package


# Every tool or agent form needs one of these in the source: a framework's top-level package
# (in an import), ``tool`` (``@x.tool``, ``tool_plain``, ``list_tools``, the ``tools=`` of a raw
# LLM call) or the schema key of a raw tool dict. Non-ASCII source is always extracted in full
# (identifiers are NFKC-normalised), and so is a module under a framework's package name
# (relative imports resolve against it).
_MARKERS = re.compile(
    "|".join(
        re.escape(m)
        for m in sorted({*fw.FRAMEWORK_ROOTS, "tool", "input_schema", "parameters", "inputSchema"})
    )
)


def may_define_tools(text: str, path: str) -> bool:
    """Whether ``extract_python`` could find a tool or an agent in this file (cheap, by text)."""
    if not text.isascii() or _MARKERS.search(text) is not None:
        return True
    return module_name(path)[0].partition(".")[0] in fw.FRAMEWORK_ROOTS


def check_python(text: str, path: str) -> FileFacts:
    """A file ``may_define_tools`` rejects: parsed for syntax errors only, its facts ``lazy``
    (``extract_python`` gives the same tools and agents, none, plus imports and bindings)."""
    facts = extract_python(text, path, parse_only=True)
    facts.lazy = facts.error is None
    return facts


def extract_python(text: str, path: str, *, parse_only: bool = False) -> FileFacts:
    """Facts of one Python file; a syntax error is reported in ``FileFacts.error``."""
    module, is_package = module_name(path)
    facts = FileFacts(path=path, module=module, is_package=is_package)
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        facts.error = f"Python syntax error{f' at line {line}' if line else ''}: {exc.args[0]}"
        return facts
    if not parse_only:
        _Extractor(facts, tree).run()
    return facts


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def _walk(node: ast.AST, keep: type | tuple[type, ...] = ast.AST) -> list[ast.AST]:
    """``ast.walk(node)`` as a list, in the same breadth-first order (without its generators),
    descending only through nodes of type ``keep``; ``keep=_BLOCKS`` gives the statements (and
    except/case clauses) in that order, as statements never sit inside an expression."""
    todo = [node]
    append = todo.append
    i = 0
    while i < len(todo):
        current = todo[i]
        i += 1
        for name in current._fields:
            value = getattr(current, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, keep):
                        append(item)
            elif isinstance(value, keep):
                append(value)
    return todo


def _children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` as a list."""
    out: list[ast.AST] = []
    node_type = ast.AST
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            out.extend(item for item in value if isinstance(item, node_type))
        elif isinstance(value, node_type):
            out.append(value)
    return out


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(call: ast.Call, names: tuple[str, ...]) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in names:
            return keyword.value
    return None


def _arg(call: ast.Call, keywords: tuple[str, ...], position: int | None) -> ast.expr | None:
    found = _kw(call, keywords) if keywords else None
    if found is None and position is not None and len(call.args) > position:
        arg = call.args[position]
        if not isinstance(arg, ast.Starred):
            return arg
    return found


def _literal(node: ast.AST | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return None


def _docstring(node: ast.AST) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
        doc = ast.get_docstring(node, clean=True)
        return doc or None
    return None


def _annotation_schema(node: ast.expr | None) -> dict[str, Any]:
    if node is None:
        return {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        for side in (node.left, node.right):
            if not (isinstance(side, ast.Constant) and side.value is None):
                return _annotation_schema(side)
        return {}
    if isinstance(node, ast.Subscript):
        base = _dotted(node.value) or ""
        last = base.rsplit(".", 1)[-1]
        inner = node.slice
        elements = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
        if last == "Optional":
            return _annotation_schema(elements[0])
        if last == "Annotated":
            schema = _annotation_schema(elements[0])
            for meta in elements[1:]:
                text = _const_str(meta)
                if text is None and isinstance(meta, ast.Call):
                    text = _const_str(_kw(meta, ("description",)))
                if text:
                    schema["description"] = text
            return schema
        if last == "Literal":
            values = [_literal(e) for e in elements]
            return {"enum": [v for v in values if isinstance(v, str | int | float | bool)]}
        if last == "Union":
            non_none = [
                e for e in elements if not (isinstance(e, ast.Constant) and e.value is None)
            ]
            return _annotation_schema(non_none[0]) if non_none else {}
        json_type = _JSON_TYPES.get(last)
        return {"type": json_type} if json_type else {}
    name = (_dotted(node) or "").rsplit(".", 1)[-1]
    json_type = _JSON_TYPES.get(name)
    return {"type": json_type} if json_type else {}


def _function_schema(fn: _FuncNode | ast.Lambda) -> dict[str, Any] | None:
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    pairs = list(zip(positional, defaults, strict=True))
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg, default in pairs:
        annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
        if arg.arg in _SKIPPED_PARAMS or any(t in annotation for t in _CONTEXT_TYPES):
            continue
        schema = _annotation_schema(arg.annotation)
        if isinstance(default, ast.Call) and (desc := _const_str(_kw(default, ("description",)))):
            schema["description"] = desc
        properties[arg.arg] = schema
        if default is None:
            required.append(arg.arg)
    if not properties:
        return None
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def _class_fields_schema(cls: ast.ClassDef) -> dict[str, Any] | None:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            schema = _annotation_schema(stmt.annotation)
            if isinstance(stmt.value, ast.Call):
                if desc := _const_str(_kw(stmt.value, ("description",))):
                    schema["description"] = desc
                first = stmt.value.args[0] if stmt.value.args else None
                if isinstance(first, ast.Constant) and first.value is Ellipsis:
                    required.append(stmt.target.id)
            elif stmt.value is None:
                required.append(stmt.target.id)
            properties[stmt.target.id] = schema
    if not properties:
        return None
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def _class_attr(cls: ast.ClassDef, name: str) -> ast.expr | None:
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                return stmt.value
        elif (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and stmt.target.id == name
        ):
            return stmt.value
    return None


def _annotations_value(node: ast.expr | None) -> dict[str, Any] | None:
    if node is None:
        return None
    if isinstance(node, ast.Call):
        out = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
        return {k: v for k, v in out.items() if isinstance(v, bool | str)} or None
    value = _literal(node)
    return value if isinstance(value, dict) else None


class _Extractor:
    """One pass over a module; fills ``FileFacts``."""

    def __init__(self, facts: FileFacts, tree: ast.Module) -> None:
        self.facts = facts
        self.tree = tree
        self.stem = facts.module or PurePosixPath(facts.path).stem
        self.imports: dict[str, str] = {}
        self.functions: dict[str, _FuncNode] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        self.memo: dict[int, list[Ref]] = {}
        # _sinks of (function, class, depth), by identity: the tree lives as long as this.
        self.sinks_memo: dict[tuple[int, int, int], set[str]] = {}
        self.agent_memo: dict[int, AgentDef] = {}
        # Plain functions made tools by an agent that wraps callables, by function name.
        self.callable_tools: dict[str, list[Ref]] = {}
        self.attachments: list[tuple[str, list[Ref]]] = []
        self.scopes: list[dict[str, list[Ref]]] = []
        self.function_stack: list[str] = []
        self.assign_target: str | None = None

    # -- names ---------------------------------------------------------------------------------
    def _package(self, level: int) -> str:
        parts = (self.facts.module or "").split(".") if self.facts.module else []
        if not self.facts.is_package:
            parts = parts[:-1]
        if level > 1:
            parts = parts[: max(0, len(parts) - (level - 1))]
        return ".".join(parts)

    def _collect_imports(self) -> None:
        for node in _walk(self.tree, _BLOCKS):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.imports.setdefault(head, head)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = self._package(node.level)
                    base = ".".join(p for p in (package, base) if p)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    local = alias.asname or alias.name
                    self.imports[local] = f"{base}.{alias.name}" if base else alias.name
        self.facts.imports = dict(self.imports)

    def qual(self, dotted: str | None, aliases: dict[str, str] | None = None) -> str | None:
        """``dotted`` with its head replaced by what it was imported as (or aliased to)."""
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        if aliases and head in aliases:
            expanded = aliases[head]
            head, _, more = expanded.partition(".")
            rest = ".".join(p for p in (more, rest) if p)
        if head in self.imports:
            head = self.imports[head]
        return f"{head}.{rest}" if rest else head

    def _form(self, node: ast.AST) -> tuple[str, str, str] | None:
        """(framework, last component, last two components) of a resolved call/decorator name."""
        dotted = _dotted(node)
        if dotted is None or dotted.partition(".")[0] not in self.imports:
            return None
        qualname = self.qual(dotted) or ""
        framework = fw.framework_of(qualname)
        if framework is None:
            return None
        parts = qualname.split(".")
        return framework, parts[-1], ".".join(parts[-2:])

    # -- driver --------------------------------------------------------------------------------
    def run(self) -> None:
        self.facts.docstring = _docstring(self.tree)
        self._collect_imports()
        for stmt in self.tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[stmt.name] = stmt
            elif isinstance(stmt, ast.ClassDef):
                self.classes[stmt.name] = stmt
        self._visit_body(self.tree.body)
        by_var = {a.var: a for a in self.facts.agents if a.var}
        for receiver, refs in self.attachments:
            agent = by_var.get(receiver)
            if agent is not None:
                agent.tools.extend(refs)
        self._name_agents()

    def _name_agents(self) -> None:
        seen: dict[str, int] = {}
        for agent in self.facts.agents:
            count = seen.get(agent.name, 0)
            seen[agent.name] = count + 1
            if count:
                agent.name = f"{agent.name}#{count + 1}"

    def _bind(self, name: str, refs: list[Ref], *, extend: bool = False) -> None:
        table = self.scopes[-1] if self.scopes else self.facts.bindings
        if extend and name in table:
            table[name] = [*table[name], *refs]
        elif extend and not self.scopes:
            table[name] = refs
        else:
            table[name] = refs

    def _visit_body(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self._visit_stmt(stmt)

    def _visit_function_body(self, fn: _FuncNode) -> None:
        self.function_stack.append(fn.name)
        self.scopes.append({})
        self._visit_body(fn.body)
        self.scopes.pop()
        self.function_stack.pop()

    def _visit_stmt(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self._function(stmt, None)
            self._visit_function_body(stmt)
            return
        if isinstance(stmt, ast.ClassDef):
            self._class(stmt)
            return
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            name = targets[0].id if len(targets) == 1 and isinstance(targets[0], ast.Name) else None
            if stmt.value is not None:
                # Set while the value is read, so an agent or tool built here is named after it.
                self.assign_target = name
                refs = self._refs(stmt.value)
                self.assign_target = None
                if name is not None and refs:
                    self._bind(name, refs)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            if refs := self._refs(stmt.value):
                self._bind(stmt.target.id, refs, extend=True)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.attr in ("append", "extend", "insert")
                and call.args
                and (refs := self._refs(call.args[-1]))
            ):
                self._bind(func.value.id, refs, extend=True)
        nested: list[ast.stmt] = []
        for child in _children(stmt):
            if isinstance(child, ast.stmt):
                nested.append(child)
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                nested.extend(child.body)
            else:
                for node in _walk(child):
                    if isinstance(node, ast.Call):
                        self._call(node)
                    elif isinstance(node, ast.Dict):
                        self._raw_tool(node)
        self._visit_body(nested)

    # -- references ----------------------------------------------------------------------------
    def _refs(self, node: ast.expr) -> list[Ref]:
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return [ref for element in node.elts for ref in self._refs(element)]
        if isinstance(node, ast.Starred):
            return self._refs(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._refs(node.left) + self._refs(node.right)
        if isinstance(node, ast.Name):
            for scope in reversed(self.scopes):
                if node.id in scope:
                    return list(scope[node.id])
            return [("name", node.id)]
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            return [("name", dotted)] if dotted else []
        if isinstance(node, ast.Dict):
            return self._raw_tool(node)
        if isinstance(node, ast.Call):
            made = self._call(node)
            if made is not None:
                return made
            callee = _dotted(node.func)
            if callee in ("list", "tuple", "set") and node.args:
                return self._refs(node.args[0])
            if callee and node.func is not None and not callee.startswith("self."):
                return [("name", callee)]
        return []

    # -- tools -----------------------------------------------------------------------------------
    def _add_tool(self, tool: ToolDef) -> list[Ref]:
        self.facts.tools.append(tool)
        return [("tool", str(len(self.facts.tools) - 1))]

    def _tool_from_function(
        self,
        fn: _FuncNode | ast.Lambda | None,
        *,
        name: str | None,
        description: str | None,
        framework: str,
        at: ast.AST,
        owner: str | None = None,
        annotations: dict[str, Any] | None = None,
        cls: ast.ClassDef | None = None,
    ) -> list[Ref]:
        if name is None and isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            name = fn.name
        if name is None:
            name = self.assign_target or f"tool_{getattr(at, 'lineno', 0)}"
        if description is None and fn is not None:
            description = _docstring(fn)
        tool = ToolDef(
            name=name,
            framework=framework,
            line=getattr(at, "lineno", 0),
            column=getattr(at, "col_offset", 0) + 1,
            description=description,
            input_schema=_function_schema(fn) if fn is not None else None,
            annotations=annotations,
            sinks=sorted(self._sinks(fn, cls)) if fn is not None else [],
            owner=owner,
        )
        return self._add_tool(tool)

    def _function(self, fn: _FuncNode, cls: ast.ClassDef | None) -> list[Ref]:
        refs: list[Ref] = []
        for decorator in fn.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            call = decorator if isinstance(decorator, ast.Call) else None
            form = self._form(target)
            if form is not None and (form[0], form[1]) in fw.TOOL_DECORATORS:
                spec = fw.TOOL_DECORATORS[(form[0], form[1])]
                name = description = None
                if call is not None:
                    name = _const_str(_kw(call, spec.name_keywords)) if spec.name_keywords else None
                    if name is None and spec.positional_name and call.args:
                        name = _const_str(call.args[0])
                    if spec.description_keywords:
                        description = _const_str(_kw(call, spec.description_keywords))
                refs += self._tool_from_function(
                    fn, name=name, description=description, framework=form[0], at=fn, cls=cls
                )
                continue
            if not isinstance(target, ast.Attribute) or (receiver := _dotted(target.value)) is None:
                continue
            if target.attr in fw.OBJECT_TOOL_METHODS and form is None:
                name = description = None
                annotations = None
                if call is not None:
                    name = _const_str(_kw(call, ("name",)))
                    if name is None and call.args:
                        name = _const_str(call.args[0])
                    description = _const_str(_kw(call, ("description",)))
                    annotations = _annotations_value(_kw(call, ("annotations",)))
                refs += self._tool_from_function(
                    fn,
                    name=name,
                    description=description,
                    framework="",
                    at=fn,
                    owner=receiver,
                    annotations=annotations,
                    cls=cls,
                )
            elif target.attr == "list_tools" and form is None:
                for node in _walk(fn):
                    if not isinstance(node, ast.Call):
                        continue
                    callee = self.qual(_dotted(node.func)) or ""
                    if not (callee.startswith("mcp.") and callee.endswith(".Tool")):
                        continue
                    name = _const_str(_kw(node, ("name",)))
                    if name is None:
                        continue
                    schema = _literal(_kw(node, ("inputSchema", "input_schema")))
                    self._add_tool(
                        ToolDef(
                            name=name,
                            framework="mcp",
                            line=node.lineno,
                            column=node.col_offset + 1,
                            description=_const_str(_kw(node, ("description",))),
                            input_schema=schema if isinstance(schema, dict) else None,
                            annotations=_annotations_value(_kw(node, ("annotations",))),
                            owner=receiver,
                        )
                    )
        if refs and cls is None:
            self._bind(fn.name, refs)
        return refs

    def _class(self, cls: ast.ClassDef) -> None:
        framework = None
        for base in cls.bases:
            form = self._form(base)
            if form is not None and (form[0], form[1]) in fw.TOOL_BASE_CLASSES:
                framework = form[0]
        if framework is not None:
            name = _const_str(_class_attr(cls, "name")) or cls.name
            description = _const_str(_class_attr(cls, "description")) or _docstring(cls)
            methods = {
                s.name: s for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            schema: dict[str, Any] | None = None
            inputs = _literal(_class_attr(cls, "inputs"))
            args_schema = _class_attr(cls, "args_schema")
            if isinstance(inputs, dict):
                schema = {"type": "object", "properties": inputs}
            elif isinstance(args_schema, ast.Name) and args_schema.id in self.classes:
                schema = _class_fields_schema(self.classes[args_schema.id])
            sinks: set[str] = set()
            for method_name in fw.TOOL_RUN_METHODS:
                if method_name in methods:
                    method = methods[method_name]
                    sinks |= self._sinks(method, cls)
                    if schema is None:
                        schema = _function_schema(method)
            refs = self._add_tool(
                ToolDef(
                    name=name,
                    framework=framework,
                    line=cls.lineno,
                    column=cls.col_offset + 1,
                    description=description,
                    input_schema=schema,
                    sinks=sorted(sinks),
                )
            )
            self._bind(cls.name, refs)
            self._visit_class_body(cls)
            return
        members: list[Ref] = []
        for stmt in cls.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                members += self._function(stmt, cls)
        if members:
            self._bind(cls.name, members)
        self._visit_class_body(cls)

    def _visit_class_body(self, cls: ast.ClassDef) -> None:
        # Class attributes are not module bindings: read them in a scope of their own.
        self.scopes.append({})
        for stmt in cls.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self._visit_function_body(stmt)
            elif isinstance(stmt, ast.ClassDef):
                self._class(stmt)
            else:
                self._visit_stmt(stmt)
        self.scopes.pop()

    def _raw_tool(self, node: ast.Dict) -> list[Ref]:
        if id(node) in self.memo:
            return self.memo[id(node)]
        entries = {_const_str(k): v for k, v in zip(node.keys, node.values, strict=True) if k}
        refs: list[Ref] = []
        inner = entries.get("function")
        if _const_str(entries.get("type")) == "function" and isinstance(inner, ast.Dict):
            refs = self._raw_tool(inner)
            self.memo[id(node)] = refs
            return refs
        name = _const_str(entries.get("name"))
        schema_key = next(
            (k for k in ("input_schema", "parameters", "inputSchema") if k in entries), None
        )
        if name is not None and schema_key is not None:
            schema = _literal(entries[schema_key])
            refs = self._add_tool(
                ToolDef(
                    name=name,
                    framework="anthropic" if schema_key == "input_schema" else "openai",
                    line=node.lineno,
                    column=node.col_offset + 1,
                    description=_const_str(entries.get("description")),
                    input_schema=schema if isinstance(schema, dict) else None,
                    annotations=_annotations_value(entries.get("annotations")),
                )
            )
        self.memo[id(node)] = refs
        return refs

    # -- calls: tool constructors, hosted tools, agents -----------------------------------------
    def _call(self, node: ast.Call) -> list[Ref] | None:
        if id(node) in self.memo:
            return self.memo[id(node)]
        result = self._call_uncached(node)
        if result is not None:
            self.memo[id(node)] = result
        return result

    def _call_uncached(self, node: ast.Call) -> list[Ref] | None:
        form = self._form(node.func)
        func = node.func
        if form is None:
            dotted = _dotted(func) or ""
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                position = fw.ATTACH_METHODS.get(func.attr)
                if position is not None:
                    arg = _arg(node, ("plugin", "plugins", "function", "tools"), position)
                    if arg is not None and (refs := self._refs(arg)):
                        self.attachments.append((func.value.id, refs))
            for suffix, framework in fw.RAW_TOOL_CALL_SUFFIXES.items():
                if dotted.endswith("." + suffix) and _kw(node, ("tools",)) is not None:
                    self._agent(node, framework, fw.AgentForm(("tools",), None, (), None, ()))
                    return None
            return None
        framework, last, last_two = form
        hosted = fw.HOSTED_TOOLS.get((framework, last))
        if hosted is not None:
            return self._add_tool(
                ToolDef(
                    name=hosted.name,
                    framework=framework,
                    line=node.lineno,
                    column=node.col_offset + 1,
                    known_capabilities=list(hosted.capabilities),
                )
            )
        call_form = fw.TOOL_CALLS.get((framework, last_two)) or fw.TOOL_CALLS.get((framework, last))
        if call_form is not None:
            target = _arg(node, call_form.func_keywords, call_form.func_position)
            fn: _FuncNode | ast.Lambda | None = None
            if isinstance(target, ast.Name):
                fn = self.functions.get(target.id)
            elif isinstance(target, ast.Lambda):
                fn = target
            if target is None and (framework, last) == ("crewai", "Tool"):
                return None
            name = _const_str(_kw(node, call_form.name_keywords))
            description = _const_str(_kw(node, call_form.description_keywords))
            if name is None and isinstance(target, ast.Name):
                name = target.id
            refs = self._tool_from_function(
                fn, name=name, description=description, framework=framework, at=node
            )
            if (framework, last) == ("autogen", "register_function"):
                caller = _kw(node, ("caller",))
                if isinstance(caller, ast.Name):
                    self.attachments.append((caller.id, refs))
                return []
            return refs
        agent_form = fw.AGENT_CALLS.get((framework, last_two)) or fw.AGENT_CALLS.get(
            (framework, last)
        )
        if agent_form is not None:
            self._agent(node, framework, agent_form)
        return None

    def _agent(self, node: ast.Call, framework: str, form: fw.AgentForm) -> None:
        if id(node) in self.agent_memo:
            return
        name = _const_str(_kw(node, form.name_keywords)) if form.name_keywords else None
        if name is None and form.name_position is not None and len(node.args) > form.name_position:
            name = _const_str(node.args[form.name_position])
        var = self.assign_target
        if name is None:
            name = (
                var or f"{self.stem}:{self.function_stack[-1] if self.function_stack else 'module'}"
            )
        description = None
        for keyword in form.description_keywords:
            description = _const_str(_kw(node, (keyword,)))
            if description:
                break
        agent = AgentDef(
            name=name,
            framework=framework,
            line=node.lineno,
            column=node.col_offset + 1,
            var=var,
            description=description,
        )
        self.agent_memo[id(node)] = agent
        if form.tools_keywords or form.tools_position is not None:
            tools = _arg(node, form.tools_keywords, form.tools_position)
            if tools is not None:
                agent.tools = self._refs(tools)
                if form.callables:
                    agent.tools = self._wrap_callables(agent.tools, framework)
        builtins = [form.builtin] if form.builtin else []
        for flag, hosted in fw.CODE_EXECUTION_FLAGS.items():
            value = _kw(node, (flag,))
            if isinstance(value, ast.Constant) and value.value is True:
                builtins.append(hosted)
        for hosted in builtins:
            agent.tools += self._add_tool(
                ToolDef(
                    name=hosted.name,
                    framework=framework,
                    line=node.lineno,
                    column=node.col_offset + 1,
                    known_capabilities=list(hosted.capabilities),
                )
            )
        wrapped = _kw(node, ("agent",))
        if isinstance(wrapped, ast.Name):
            agent.wraps.append(wrapped.id)
        self.facts.agents.append(agent)

    def _plain_function(self, name: str) -> _FuncNode | None:
        """A module-level function of this file that no decorator made a tool."""
        return None if name in self.facts.bindings else self.functions.get(name)

    def _wrap_callables(self, refs: list[Ref], framework: str, depth: int = 0) -> list[Ref]:
        """``refs`` with the plain module functions among them (directly or through this module's
        list variables) made tools, for an agent constructor that wraps callables itself."""
        out: list[Ref] = []
        for kind, value in refs:
            fn = self._plain_function(value) if kind == "name" else None
            bound = self.facts.bindings.get(value) if kind == "name" and depth < 4 else None
            if fn is not None:
                if value not in self.callable_tools:
                    self.callable_tools[value] = self._tool_from_function(
                        fn, name=None, description=None, framework=framework, at=fn
                    )
                out += self.callable_tools[value]
            elif bound is not None and any(
                k == "name" and self._plain_function(v) is not None for k, v in bound
            ):
                out += self._wrap_callables(bound, framework, depth + 1)
            else:
                out.append((kind, value))
        return out

    # -- sinks -----------------------------------------------------------------------------------
    def _sinks(
        self, fn: _FuncNode | ast.Lambda, cls: ast.ClassDef | None, depth: int = 1
    ) -> set[str]:
        key = (id(fn), id(cls), depth)
        known = self.sinks_memo.get(key)
        if known is None:
            known = self.sinks_memo[key] = self._sinks_uncached(fn, cls, depth)
        return known

    def _sinks_uncached(
        self, fn: _FuncNode | ast.Lambda, cls: ast.ClassDef | None, depth: int
    ) -> set[str]:
        nodes = _walk(fn)
        aliases: dict[str, str] = {}
        for node in nodes:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                callee = _dotted(node.value.func)
                for target in node.targets:
                    if isinstance(target, ast.Name) and callee:
                        aliases[target.id] = callee
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name) and isinstance(
                        item.context_expr, ast.Call
                    ):
                        callee = _dotted(item.context_expr.func)
                        if callee:
                            aliases[item.optional_vars.id] = callee
        out: set[str] = set()
        for node in nodes:
            if not isinstance(node, ast.Call):
                continue
            out.update(self._call_sinks(node, aliases))
            if depth <= 0:
                continue
            func = node.func
            if (
                isinstance(func, ast.Name)
                and func.id in self.functions
                and func.id != getattr(fn, "name", None)
            ):
                out |= self._sinks(self.functions[func.id], None, depth - 1)
            elif (
                cls is not None
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "self"
            ):
                for stmt in cls.body:
                    if (
                        isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                        and stmt.name == func.attr
                        and stmt is not fn
                    ):
                        out |= self._sinks(stmt, cls, depth - 1)
        return out

    def _call_sinks(self, node: ast.Call, aliases: dict[str, str]) -> Iterator[str]:
        dotted = _dotted(node.func)
        if dotted is None:
            return
        if dotted == "open" and "open" not in self.imports:
            builtin_mode = _const_str(_arg(node, ("mode",), 1)) or "r"
            yield f"open:{builtin_mode}"
            return
        name: str = self.qual(dotted, aliases) or dotted
        mode = _const_str(_arg(node, ("mode",), 0)) if name.endswith(".open") else None
        if mode and set(mode) <= set("rwabxt+"):
            yield f"open:{mode}"
            return
        if name.startswith("boto3.") and name.rsplit(".", 1)[-1] in ("client", "resource"):
            service = _const_str(_arg(node, ("service_name",), 0))
            candidate = f"boto3.client:{service}" if service else "boto3.client"
            if sink_rule(candidate) is not None:
                yield candidate
                return
        if sink_rule(name) is not None:
            yield name
