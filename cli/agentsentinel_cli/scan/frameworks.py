"""Which resolved names are tool decorators, tool and agent constructors, per framework.

Key contracts:
- Matching is on the fully-qualified name a call or decorator resolves to through the module's
  imports (``from langchain_core.tools import tool as t`` makes ``t`` mean
  ``langchain_core.tools.tool``): the top-level package gives the framework, the last component
  (and for methods the last two) the form. A bare name that no import explains matches
  nothing: precision over guessing.
- Adding a form is adding a row here; ``python_ast`` holds no framework names.
"""

from __future__ import annotations

from typing import Final, NamedTuple

# Top-level package -> framework name used in reports.
FRAMEWORK_ROOTS: Final[dict[str, str]] = {
    "langchain": "langchain",
    "langchain_core": "langchain",
    "langchain_community": "langchain",
    "langchain_experimental": "langchain",
    "langgraph": "langgraph",
    "crewai": "crewai",
    "crewai_tools": "crewai",
    "agents": "openai_agents",
    "mcp": "mcp",
    "fastmcp": "mcp",
    "pydantic_ai": "pydantic_ai",
    "llama_index": "llamaindex",
    "autogen": "autogen",
    "autogen_core": "autogen",
    "autogen_agentchat": "autogen",
    "autogen_ext": "autogen",
    "semantic_kernel": "semantic_kernel",
    "smolagents": "smolagents",
}


def framework_of(qualname: str) -> str | None:
    """The framework a fully-qualified name belongs to, or None."""
    return FRAMEWORK_ROOTS.get(qualname.partition(".")[0])


# Decorators that turn a function into a tool, by (framework, last component).
# Value: keyword names that carry the tool name, and whether the first positional string is it.
class DecoratorForm(NamedTuple):
    name_keywords: tuple[str, ...]
    description_keywords: tuple[str, ...]
    positional_name: bool


TOOL_DECORATORS: Final[dict[tuple[str, str], DecoratorForm]] = {
    ("langchain", "tool"): DecoratorForm(("name_or_callable", "name"), ("description",), True),
    ("crewai", "tool"): DecoratorForm(("name",), ("description",), True),
    ("smolagents", "tool"): DecoratorForm((), (), False),
    ("openai_agents", "function_tool"): DecoratorForm(
        ("name_override",), ("description_override",), False
    ),
    ("semantic_kernel", "kernel_function"): DecoratorForm(("name",), ("description",), False),
    ("llamaindex", "tool"): DecoratorForm(("name",), ("description",), True),
}

# Decorators on an object: ``@<obj>.<method>`` registers a tool on that object (FastMCP,
# MCPServer, PydanticAI Agent). The object is resolved later, so any receiver matches.
OBJECT_TOOL_METHODS: Final = frozenset({"tool", "tool_plain"})


# Base classes whose subclasses are tools: (framework, class name).
TOOL_BASE_CLASSES: Final = frozenset(
    {
        ("langchain", "BaseTool"),
        ("langchain", "StructuredTool"),
        ("crewai", "BaseTool"),
        ("smolagents", "Tool"),
        ("llamaindex", "BaseTool"),
        ("autogen", "BaseTool"),
    }
)
# Methods whose body is the tool's implementation (sinks are read there).
TOOL_RUN_METHODS: Final = (
    "_run",
    "_arun",
    "run",
    "arun",
    "forward",
    "call",
    "__call__",
    "run_json",
)


class CallForm(NamedTuple):
    """A call that builds a tool around a function."""

    func_keywords: tuple[str, ...]  # keyword naming the wrapped function
    func_position: int | None  # positional index of the wrapped function
    name_keywords: tuple[str, ...]
    description_keywords: tuple[str, ...]


TOOL_CALLS: Final[dict[tuple[str, str], CallForm]] = {
    ("langchain", "StructuredTool.from_function"): CallForm(
        ("func", "coroutine"), 0, ("name",), ("description",)
    ),
    ("langchain", "Tool.from_function"): CallForm(
        ("func", "coroutine"), 0, ("name",), ("description",)
    ),
    ("langchain", "Tool"): CallForm(("func", "coroutine"), 1, ("name",), ("description",)),
    ("langchain", "StructuredTool"): CallForm(
        ("func", "coroutine"), None, ("name",), ("description",)
    ),
    ("llamaindex", "FunctionTool.from_defaults"): CallForm(
        ("fn", "async_fn"), 0, ("name",), ("description",)
    ),
    ("autogen", "FunctionTool"): CallForm(("func",), 0, ("name",), ("description",)),
    ("autogen", "register_function"): CallForm(("f",), 0, ("name",), ("description",)),
    ("crewai", "Tool"): CallForm(("func",), None, ("name",), ("description",)),
    ("pydantic_ai", "Tool"): CallForm(("function",), 0, ("name",), ("description",)),
}


class HostedTool(NamedTuple):
    name: str
    capabilities: tuple[str, ...]


# Hosted / built-in tools whose capabilities are known exactly (OpenAI Agents SDK).
HOSTED_TOOLS: Final[dict[tuple[str, str], HostedTool]] = {
    ("openai_agents", "WebSearchTool"): HostedTool("web_search", ("reads_untrusted_content",)),
    ("openai_agents", "FileSearchTool"): HostedTool("file_search", ("reads_private_data",)),
    ("openai_agents", "ComputerTool"): HostedTool(
        "computer",
        ("code_execution", "reads_private_data", "reads_untrusted_content", "writes_internal"),
    ),
    ("openai_agents", "CodeInterpreterTool"): HostedTool("code_interpreter", ("code_execution",)),
    ("openai_agents", "LocalShellTool"): HostedTool("local_shell", ("code_execution",)),
    ("openai_agents", "ShellTool"): HostedTool("shell", ("code_execution",)),
    ("openai_agents", "ImageGenerationTool"): HostedTool("image_generation", ()),
    ("crewai", "CodeInterpreterTool"): HostedTool("code_interpreter", ("code_execution",)),
    ("langchain", "PythonREPLTool"): HostedTool("python_repl", ("code_execution",)),
    ("langchain", "ShellTool"): HostedTool("terminal", ("code_execution",)),
}


class AgentForm(NamedTuple):
    """A call that builds an agent (or an MCP server: an agent-like unit offering tools)."""

    tools_keywords: tuple[str, ...]
    tools_position: int | None
    name_keywords: tuple[str, ...]
    name_position: int | None
    description_keywords: tuple[str, ...]
    # A built-in capability of the agent itself (CrewAI code execution, smolagents CodeAgent).
    builtin: HostedTool | None = None
    # The constructor wraps plain functions of its tools list into tools itself
    # (``create_react_agent(model, [get_weather])``, PydanticAI ``Agent(tools=[f])``).
    callables: bool = False


_DESC = ("description", "instructions", "system_prompt", "goal", "backstory", "prompt")

AGENT_CALLS: Final[dict[tuple[str, str], AgentForm]] = {
    ("langgraph", "create_react_agent"): AgentForm(
        ("tools",), 1, ("name",), None, _DESC, callables=True
    ),
    ("langchain", "create_agent"): AgentForm(("tools",), 1, ("name",), None, _DESC, callables=True),
    ("langchain", "create_react_agent"): AgentForm(("tools",), 1, ("name",), None, _DESC),
    ("langchain", "create_tool_calling_agent"): AgentForm(("tools",), 1, (), None, _DESC),
    ("langchain", "create_openai_tools_agent"): AgentForm(("tools",), 1, (), None, _DESC),
    ("langchain", "create_openai_functions_agent"): AgentForm(("tools",), 1, (), None, _DESC),
    ("langchain", "create_structured_chat_agent"): AgentForm(("tools",), 1, (), None, _DESC),
    ("langchain", "initialize_agent"): AgentForm(("tools",), 0, (), None, _DESC),
    ("langchain", "AgentExecutor"): AgentForm(("tools",), None, ("name",), None, _DESC),
    ("langchain", "AgentExecutor.from_agent_and_tools"): AgentForm(
        ("tools",), 1, ("name",), None, _DESC
    ),
    ("langgraph", "ToolNode"): AgentForm(("tools",), 0, ("name",), None, (), callables=True),
    ("crewai", "Agent"): AgentForm(("tools",), None, ("role", "name"), None, _DESC),
    ("openai_agents", "Agent"): AgentForm(("tools",), None, ("name",), 0, _DESC),
    ("pydantic_ai", "Agent"): AgentForm(("tools",), None, ("name",), None, _DESC, callables=True),
    ("llamaindex", "ReActAgent"): AgentForm(
        ("tools",), None, ("name",), None, _DESC, callables=True
    ),
    ("llamaindex", "ReActAgent.from_tools"): AgentForm(("tools",), 0, ("name",), None, _DESC),
    ("llamaindex", "FunctionAgent"): AgentForm(
        ("tools",), None, ("name",), None, _DESC, callables=True
    ),
    ("llamaindex", "FunctionCallingAgent.from_tools"): AgentForm(
        ("tools",), 0, ("name",), None, _DESC
    ),
    ("llamaindex", "OpenAIAgent.from_tools"): AgentForm(("tools",), 0, ("name",), None, _DESC),
    ("llamaindex", "CodeActAgent"): AgentForm(
        ("tools",), None, ("name",), None, _DESC, HostedTool("code_act", ("code_execution",))
    ),
    ("autogen", "AssistantAgent"): AgentForm(
        ("tools",), None, ("name",), 0, ("description", "system_message"), callables=True
    ),
    ("autogen", "ConversableAgent"): AgentForm(
        ("tools",), None, ("name",), 0, ("description", "system_message")
    ),
    ("smolagents", "CodeAgent"): AgentForm(
        ("tools",),
        None,
        ("name",),
        None,
        ("description", "instructions"),
        HostedTool("python_code_execution", ("code_execution",)),
    ),
    ("smolagents", "ToolCallingAgent"): AgentForm(
        ("tools",), None, ("name",), None, ("description", "instructions")
    ),
    ("mcp", "FastMCP"): AgentForm(("tools",), None, ("name",), 0, ("instructions",)),
    ("mcp", "MCPServer"): AgentForm(("tools",), None, ("name",), 0, ("instructions",)),
    ("mcp", "Server"): AgentForm((), None, ("name",), 0, ("instructions",)),
    ("semantic_kernel", "Kernel"): AgentForm(("plugins",), None, (), None, ()),
    ("semantic_kernel", "ChatCompletionAgent"): AgentForm(
        ("plugins",), None, ("name",), None, ("description", "instructions")
    ),
}

# CrewAI: ``Agent(..., allow_code_execution=True)`` gives the agent a code interpreter.
CODE_EXECUTION_FLAGS: Final[dict[str, HostedTool]] = {
    "allow_code_execution": HostedTool("code_execution", ("code_execution",)),
}

# Methods that attach tools to an existing agent object: method -> (tools positional index).
ATTACH_METHODS: Final[dict[str, int]] = {"add_plugin": 0, "add_function": 1, "add_tools": 0}

# Raw LLM API calls taking ``tools=[...]``: the call site is the agent loop.
RAW_TOOL_CALL_SUFFIXES: Final[dict[str, str]] = {
    "messages.create": "anthropic",
    "messages.stream": "anthropic",
    "chat.completions.create": "openai",
    "responses.create": "openai",
}
