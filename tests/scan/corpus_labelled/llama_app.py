from llama_index.core.agent import ReActAgent
from llama_index.core.tools import FunctionTool


def lookup_invoice(invoice_id: str) -> str:
    """Return an invoice of the company by its id."""
    return ""


invoice_tool = FunctionTool.from_defaults(fn=lookup_invoice, name="get_invoice")
billing = ReActAgent(tools=[invoice_tool], name="billing", description="Looks up invoices.")
