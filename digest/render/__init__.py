"""Render stage: the day's HTML page from a Digest."""
