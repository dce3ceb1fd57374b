"""Fetch stage: arXiv announcements and news feeds into Paper and Article, raw responses kept."""
