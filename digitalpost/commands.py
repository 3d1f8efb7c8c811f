"""Shared by the provisioning management commands."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def command_error(error: ValidationError, flags: dict[str, str]) -> CommandError:
    """A service's refusal, told in terms of the command's flags."""
    if not hasattr(error, "error_dict"):
        return CommandError(" ".join(error.messages))
    return CommandError(
        " ".join(
            f"{flags.get(field, '--' + field.replace('_', '-'))}: {' '.join(messages)}"
            for field, messages in error.message_dict.items()
        )
    )
