"""One base widget owning a matplotlib figure styled to napari's theme.

Every plot dock (attenuation chart, histogram, voltage curve, results)
subclasses it and only says what to draw in :meth:`draw`. The figure is
rendered off the GUI thread (:class:`BackgroundAggCanvas`): a redraw after
Measure or a new histogram costs the GUI thread building the artists, not
the 50-400 ms of laying out and rasterising them.
"""

from __future__ import annotations

import logging
import threading
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from qtpy.QtCore import QObject, QPoint, QTimer, Signal
from qtpy.QtGui import QImage, QPainter
from qtpy.QtWidgets import QVBoxLayout, QWidget

__all__ = ["BackgroundAggCanvas", "ThemedFigureWidget", "theme_colours"]

_log = logging.getLogger(__name__)
# a dock squeezed small (the bottom dock on a laptop) makes matplotlib say it could not lay the axes out;
# napari turns every warning into a notification that stays over the canvas: the plot is drawn anyway
warnings.filterwarnings("ignore", message="constrained_layout not applied", category=UserWarning)
_render_pool: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The one thread every plot renders on (one at a time, so plots never compete for the cores)."""
    global _render_pool
    if _render_pool is None:
        _render_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="licell-plot")
    return _render_pool


class _RenderRelay(QObject):
    """Carries a finished render from the plot thread to the GUI thread.

    One relay for the process, made on the GUI thread and never deleted: a
    relay owned by a canvas could be deleted with it while the plot thread
    emits, and Qt crashes (segfault) on a signal from a deleted object.
    """

    finished = Signal(object, int, object)

    def deliver(self, canvas_ref, serial: int, result) -> None:
        canvas = canvas_ref()
        if canvas is None:
            return
        try:
            canvas._on_rendered(serial, result)
        except RuntimeError:  # the canvas's Qt side was deleted meanwhile
            pass


_relay: _RenderRelay | None = None


def _render_relay() -> _RenderRelay:
    global _relay
    if _relay is None:
        _relay = _RenderRelay()
        _relay.finished.connect(_relay.deliver)
    return _relay


class BackgroundAggCanvas(FigureCanvasQTAgg):
    """A Qt Agg canvas whose idle draws render on a worker thread.

    ``draw_idle`` (what resizes, toolbars and the plot docks' redraws call)
    rasterises the figure on the plot thread and paints the image when it is
    ready; the last finished image stays on screen meanwhile. ``draw`` stays
    synchronous for code that needs the pixels at once (exports, tests).
    Code that changes artists calls :meth:`settle` first, so no artist is
    changed while the plot thread draws it.
    """

    # class defaults: the base class's __init__ may already ask for a draw
    _future = None
    _serial = 0
    _queued = False
    _again = False
    _image: QImage | None = None
    _gui_thread: int | None = None

    def __init__(self, figure: Figure):
        super().__init__(figure)
        self._relay = _render_relay()
        self._gui_thread = threading.get_ident()

    def _on_plot_thread(self) -> bool:
        return self._gui_thread is not None and threading.get_ident() != self._gui_thread

    @property
    def rendering(self) -> bool:
        """True while a render is queued or running."""
        return self._queued or self._future is not None

    def draw_idle(self) -> None:
        if self._future is not None or self._on_plot_thread():  # e.g. a limits callback during a render
            self._again = True
            return
        if not self._queued:
            self._queued = True
            QTimer.singleShot(0, self._start_render)

    def _start_render(self) -> None:
        self._queued = False
        if (
            self._future is not None
            or self.figure is None
            or not hasattr(self, "_relay")
            or self.width() <= 0
            or self.height() <= 0
        ):
            return
        self._serial += 1
        serial, relay, canvas_ref = self._serial, self._relay, weakref.ref(self)
        figure, renderer = self.figure, self.get_renderer()

        def render():
            # no Qt call on this thread: FigureCanvasAgg.draw would set the toolbar's wait
            # cursor and call QWidget.update, which Qt allows on the GUI thread only
            try:
                renderer.clear()
                figure.draw(renderer)
                result = _snapshot(renderer)
            except Exception as exc:  # noqa: BLE001 - reported on the GUI thread
                result = exc
            relay.finished.emit(canvas_ref, serial, result)
            return result

        self._future = _pool().submit(render)

    def _show(self, result) -> None:
        if isinstance(result, Exception):
            _log.warning("a plot could not be drawn: %s", result)
            return
        data, width, height = result
        image = QImage(data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
        image.setDevicePixelRatio(self.device_pixel_ratio)
        self._image = image
        self.update()

    def _on_rendered(self, serial: int, result) -> None:
        if serial != self._serial or self._future is None:
            return  # settled already
        self._future = None
        self._show(result)
        if self._again:
            self._again = False
            self.draw_idle()

    def settle(self) -> None:
        """Wait for the render in flight (a queued one is cancelled), so artists can be changed safely."""
        future = self._future
        if future is None or self._on_plot_thread():
            return
        self._future = None
        self._serial += 1  # its signal, if any, is stale now
        if future.cancel():  # not started: render the changed figure later instead
            self.draw_idle()
            return
        try:
            self._show(future.result())
        except Exception as exc:  # noqa: BLE001
            _log.warning("a plot could not be drawn: %s", exc)

    def draw(self) -> None:
        """Render now, on the calling thread (for exports and code that reads the drawn layout)."""
        self.settle()
        super().draw()
        self._show(_snapshot(self.renderer))

    def print_figure(self, *args, **kwargs):
        self.settle()
        return super().print_figure(*args, **kwargs)

    def paintEvent(self, event) -> None:
        if getattr(self, "_draw_pending", False):  # set by print_figure
            self._draw_pending = False
            self.draw_idle()
        if self._image is None:
            return
        painter = QPainter(self)
        try:
            painter.eraseRect(event.rect())
            painter.drawImage(QPoint(0, 0), self._image)
            callback = getattr(self, "_draw_rect_callback", None)
            if callback is not None:
                callback(painter)
        finally:
            painter.end()


def _snapshot(renderer) -> tuple[bytes, int, int]:
    """The renderer's RGBA pixels as bytes, with their width and height."""
    buffer = renderer.buffer_rgba()
    height, width = buffer.shape[:2]
    return bytes(buffer), width, height


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
        self.canvas = BackgroundAggCanvas(self.figure)
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
        self.canvas.settle()
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
