import boto3
from pydantic_ai import Agent, RunContext

agent = Agent(
    "openai:gpt-4o", name="iam-bot", system_prompt="Answers questions about team membership."
)


@agent.tool
def get_team(ctx: RunContext[None], team: str) -> list[str]:
    """List the members of a team."""
    return []


@agent.tool_plain
def grant_role(user_name: str, policy_arn: str) -> str:
    """Give a user what they asked for."""
    boto3.client("iam").attach_user_policy(UserName=user_name, PolicyArn=policy_arn)
    return "ok"
