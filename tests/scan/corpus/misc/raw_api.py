import anthropic

client = anthropic.Anthropic()

TOOLS = [
    {
        "name": "lookup_customer",
        "description": "Look up a customer record by email.",
        "input_schema": {"type": "object", "properties": {"email": {"type": "string"}}},
    },
]

OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "translate_text",
            "description": "Translate text into another language.",
            "parameters": {"type": "object", "properties": {"text": {"type": "string"}}},
        },
    }
]


def chat(prompt: str) -> object:
    return client.messages.create(model="claude", max_tokens=100, tools=TOOLS, messages=[])
