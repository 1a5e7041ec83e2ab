"""The one place the GUI turns an error into a message for the user (a napari notification)."""

from __future__ import annotations

from ..errors import LiCellInputError

__all__ = ["report_error", "report_info"]


def report_error(exc: BaseException | str) -> str:
    """Show ``exc`` as a napari error notification, never a traceback; returns the text shown."""
    from napari.utils.notifications import show_error

    if isinstance(exc, LiCellInputError):
        text = exc.message
    elif isinstance(exc, BaseException):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = str(exc)
    show_error(text)
    return text


def report_info(text: str) -> None:
    """Show a short information notification."""
    from napari.utils.notifications import show_info

    show_info(text)
