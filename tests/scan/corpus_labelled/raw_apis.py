import anthropic
import openai

oai = openai.OpenAI()
claude = anthropic.Anthropic()

OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Return the current time in a time zone.",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
        },
    }
]

ANTHROPIC_TOOLS = [
    {
        "name": "send_sms",
        "description": "Send an SMS to a phone number.",
        "input_schema": {
            "type": "object",
            "properties": {"phone_number": {"type": "string"}, "message": {"type": "string"}},
        },
    }
]

PROFILE = {"name": "Ada", "role": "admin", "description": "Not a tool: no schema."}


def ask(question: str) -> object:
    return oai.chat.completions.create(model="gpt-4o", tools=OPENAI_TOOLS, messages=[])


def notify(text: str) -> object:
    return claude.messages.create(model="claude", max_tokens=64, tools=ANTHROPIC_TOOLS, messages=[])
