import os

HF_TOKEN = "HF_PLACEHOLDER"
CLIENT_SECRET = "Zq7Xv2Lp9Rt4Wm8Kc3Nb"
API_KEY = os.environ.get("API_KEY", "")
AUTH_TOKEN = "<your-token-here>"
MAX_TOKENS = 4096
