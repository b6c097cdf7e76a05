from autogen import ConversableAgent, register_function
from autogen_agentchat.agents import AssistantAgent
from autogen_core.tools import FunctionTool


async def restart_service(service: str) -> str:
    """Restart a production service."""
    return "restarted"


restart_tool = FunctionTool(restart_service, description="Restart a production service.")
sre = AssistantAgent(
    "sre", model_client=None, tools=[restart_tool], system_message="Keeps services healthy."
)


def echo(text: str) -> str:
    return text


helper = ConversableAgent("helper", system_message="Repeats what it is told.")
executor = ConversableAgent("executor")
register_function(echo, caller=helper, executor=executor, description="Echo the text back.")
