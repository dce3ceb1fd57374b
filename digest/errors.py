"""The exit codes of every command, and the one exception base that carries them.

A command ends with one of these codes; an error that ends a command is a `DigestError` whose
class says which code, so `cli.main` maps every error in one place and README's table is tested
against `EXIT_CODES`.
"""

from __future__ import annotations

EXIT_PUBLISHED = 0
EXIT_NOT_PUBLISHED = 1
EXIT_USAGE = 2
EXIT_DEGRADED = 3
EXIT_PENDING = 4

# code -> what it means, as README's "Troubleshooting by exit code" table says it.
EXIT_CODES = {
    EXIT_PUBLISHED: "published",
    EXIT_NOT_PUBLISHED: "not published (the previous page is kept)",
    EXIT_USAGE: "usage or configuration error",
    EXIT_DEGRADED: "published but degraded",
    EXIT_PENDING: "pending: a batch of the day's requests is running",
}


class DigestError(Exception):
    """An error that ends a command with `exit_code`; its message says why, for the last line on
    stderr."""

    exit_code = EXIT_NOT_PUBLISHED


class ConfigError(DigestError):
    """sources.yaml is missing, not UTF-8, not YAML, or does not match the schema; the message gives
    the file, the line and the key."""

    exit_code = EXIT_USAGE


class UsageError(DigestError):
    """The command line names something that cannot work: a missing folder, a date out of range,
    a port in use."""

    exit_code = EXIT_USAGE


class NotPublished(DigestError):
    """A build ran but publishes nothing (every source failed, or --strict with a degraded day);
    the previous page is untouched."""

    exit_code = EXIT_NOT_PUBLISHED
