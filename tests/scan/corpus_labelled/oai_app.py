import stripe
from agents import Agent, function_tool


@function_tool(name_override="transfer_funds")
def move(amount_cents: int, destination_account: str) -> str:
    """Move it."""
    stripe.Transfer.create(amount=amount_cents, currency="eur", destination=destination_account)
    return "done"


@function_tool
def get_balance(account_id: str) -> str:
    """Return the balance of a bank account."""
    return "0"


treasurer = Agent(
    name="Treasurer",
    instructions="Pays supplier invoices.",
    tools=[move, get_balance],
)
