import smtplib

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("mailer")


@mcp.tool(name="dispatch_message")
def dispatch(to: str, subject: str, body: str) -> str:
    """Hand a message over."""
    with smtplib.SMTP("mail.example.com") as smtp:
        smtp.sendmail("bot@example.com", [to], f"Subject: {subject}\n\n{body}")
    return "queued"


@mcp.tool()
def get_contact(name: str) -> str:
    """Return the phone number of a contact in the address book."""
    return ""


@mcp.tool
def ping() -> str:
    """Check that the mail server is reachable."""
    return "pong"
