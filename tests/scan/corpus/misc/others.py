from autogen_agentchat.agents import AssistantAgent
from autogen_core.tools import FunctionTool
from llama_index.core.agent import ReActAgent
from llama_index.core.tools import FunctionTool as LlamaTool
from semantic_kernel import Kernel
from semantic_kernel.functions import kernel_function
from smolagents import CodeAgent
from smolagents import tool as smol_tool


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


llama_multiply = LlamaTool.from_defaults(fn=multiply, name="multiply")
llama_agent = ReActAgent.from_tools([llama_multiply], name="calculator")


async def get_stock_price(ticker: str) -> float:
    """Get the stock price of a ticker."""
    return 1.0


stock_tool = FunctionTool(get_stock_price, description="Get a stock price.")
trader = AssistantAgent("trader", model_client=None, tools=[stock_tool])


class LightsPlugin:
    @kernel_function(name="turn_on_light", description="Turn on a light in the house.")
    def turn_on(self, room: str) -> str:
        return "on"


kernel = Kernel()
kernel.add_plugin(LightsPlugin(), plugin_name="lights")


@smol_tool
def convert_units(value: float, unit: str) -> float:
    """Convert a value to another unit.

    Args:
        value: the value
        unit: the target unit
    """
    return value


coder = CodeAgent(tools=[convert_units], model=None)
