"""VLM backends; importing this package registers the built-in ones (see base.py)."""
from labeling.backends import gemini, ollama_chat, openai_compat  # noqa: F401
