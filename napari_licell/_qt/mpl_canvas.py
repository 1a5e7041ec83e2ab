"""One base widget owning a matplotlib figure styled to napari's theme.

Every plot dock (attenuation chart, histogram, voltage curve, results)
subclasses it and only says what to draw in :meth:`draw`.
"""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from qtpy.QtWidgets import QVBoxLayout, QWidget

__all__ = ["ThemedFigureWidget", "theme_colours"]


def theme_colours(viewer) -> dict[str, str]:
    """Background, foreground, text and accent colours of the viewer's napari theme."""
    from napari.utils.theme import get_theme

    name = getattr(viewer, "theme", "dark") if viewer is not None else "dark"
    if name == "system":
        name = "dark"
    theme = get_theme(name)
    return {
        "background": theme.background.as_hex(),
        "foreground": theme.foreground.as_hex(),
        "text": theme.text.as_hex(),
        "accent": theme.highlight.as_hex() if hasattr(theme, "highlight") else "#80c0ff",
    }


class ThemedFigureWidget(QWidget):
    """A QWidget with a matplotlib figure, a navigation toolbar and napari's theme colours."""

    def __init__(self, napari_viewer=None, parent=None, toolbar: bool = True, figsize=(4, 3)):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(90)  # plots shrink with the dock; a laptop screen is 768 px tall
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        if toolbar:
            self.toolbar = NavigationToolbar2QT(self.canvas, self)
            layout.addWidget(self.toolbar)
        else:
            self.toolbar = None
        layout.addWidget(self.canvas)
        if napari_viewer is not None:
            napari_viewer.events.theme.connect(self._on_theme)

    @property
    def colours(self) -> dict[str, str]:
        return theme_colours(self.viewer)

    def style_axes(self, ax) -> None:
        """Apply the theme to one axes."""
        c = self.colours
        self.figure.set_facecolor(c["background"])
        ax.set_facecolor(c["background"])
        for spine in ax.spines.values():
            spine.set_color(c["text"])
        ax.tick_params(colors=c["text"], which="both")
        ax.xaxis.label.set_color(c["text"])
        ax.yaxis.label.set_color(c["text"])
        ax.title.set_color(c["text"])

    def _on_theme(self, event=None) -> None:
        self.redraw()

    def redraw(self) -> None:
        self.figure.clear()
        self.draw()
        self.canvas.draw_idle()

    def draw(self) -> None:  # pragma: no cover - subclasses draw
        raise NotImplementedError

    def close_viewer_links(self) -> None:
        if self.viewer is not None:
            try:
                self.viewer.events.theme.disconnect(self._on_theme)
            except (TypeError, ValueError):
                pass
