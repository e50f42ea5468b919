"""Exceptions. Every error a user can cause is a DeskactError with a one-line message;
the CLI prints `Error: <message>` and exits 1 (no traceback)."""


class DeskactError(Exception):
    """Base of every deskact error meant for the user."""


class DisplayError(DeskactError):
    """No usable display: none set, pure Wayland, missing X extensions or permissions."""


class EpisodeError(DeskactError):
    """An episode folder that cannot be written or read."""


class RecorderError(DeskactError):
    """The recorder cannot start or went wrong while recording."""
