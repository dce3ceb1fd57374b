"""PaperBot Daily Digest: a static daily page of new arXiv papers and AI news, written by LLMs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paperbot-digest")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
