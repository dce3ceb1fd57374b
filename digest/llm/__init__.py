"""LLM stage plumbing: the OpenAI-compatible adapter, prompt files, the embedded local server."""
