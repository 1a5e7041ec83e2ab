"""The guided start: the five steps of a cell's analysis, the current one highlighted, a button each.

Open → Thresholds → Paint / correct → Measure → Compare. A step is done when
the viewer holds what it makes for the shown cell (the scan; its labels; its
painted classes; its thickness map; the comparison copies); the first step
not done is the current one. Each button raises the dock that does the step
(opening it through the plugin manifest when it is not open yet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from ..layer_roles import Role, role_of, scan_of

__all__ = ["WorkflowStrip", "WORKFLOW_STEPS", "step_states"]


@dataclass(frozen=True)
class Step:
    """One step: its button text, the dock that does it, and what a user does there."""

    title: str
    dock: str
    hint: str


_PER_ROW = 3

#: The steps in order, with the display name of the dock (napari.yaml) that does each.
WORKFLOW_STEPS: tuple[Step, ...] = (
    Step("1 Open", "Study", "Open a scan or a study (or the demo study), pick a cell, fill in what the file lacks."),
    Step(
        "2 Thresholds",
        "Thresholds (Xe contrast)",
        "Suggest thresholds for Li and gas voids, check the contrast verdict, Apply to volume.",
    ),
    Step("3 Paint", "Paint & classify", "Correct the labels by hand, or paint a few strokes and Train & predict."),
    Step("4 Measure", "Results", "Measure the Li layer, Li inside the SE, the verdict; save the report."),
    Step("5 Compare", "Compare cells", "Put the cells of the study side by side with their key numbers."),
)


def step_states(layers, scan_name: str | None) -> list[bool]:
    """Which steps are done for the scan ``scan_name`` given the viewer's layers."""
    roles = {role_of(layer) for layer in layers if scan_name is not None and scan_of(layer) == scan_name}
    has_scan = scan_name is not None and any(layer.name == scan_name for layer in layers)
    compared = any(role_of(layer) == Role.COMPARE for layer in layers)
    return [has_scan, Role.LABELS in roles, Role.CLASSES in roles, Role.THICKNESS_MAP in roles, compared]


class WorkflowStrip(QWidget):
    """A row of step buttons; the current step is highlighted and its hint shown below.

    Signals
    -------
    step_requested(str)
        The display name of the dock whose step button was pressed.
    """

    step_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(2)
        self.buttons: list[QPushButton] = []
        for i, step in enumerate(WORKFLOW_STEPS):
            button = QPushButton(step.title)
            button.setToolTip(step.hint)
            button.setStyleSheet('QPushButton[current="true"] {border: 2px solid #e8c93a;}')
            button.clicked.connect(lambda _=False, dock=step.dock: self.step_requested.emit(dock))
            grid.addWidget(button, i // _PER_ROW, i % _PER_ROW)  # two rows: fits a narrow dock
            self.buttons.append(button)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        grid.addWidget(self.hint, (len(WORKFLOW_STEPS) - 1) // _PER_ROW + 1, 0, 1, _PER_ROW)
        self.current = 0
        self.show_states([False] * len(WORKFLOW_STEPS))

    def show_states(self, done: list[bool]) -> int:
        """Mark done steps (✓) and highlight the first step not done after the last one done; returns its index.

        After the last step done, not the first step not done: painting and
        predicting (step 3) stands in for the thresholds (step 2), so the next
        step is Measure, not a step the user went past.
        """
        last = max((i for i, d in enumerate(done) if d), default=-1)
        current = next((i for i in range(last + 1, len(done)) if not done[i]), None)
        if current is None:
            current = next((i for i, d in enumerate(done) if not d), len(done) - 1)
        for i, (button, step) in enumerate(zip(self.buttons, WORKFLOW_STEPS)):
            button.setText(("✓ " if done[i] else "") + step.title)
            # a property, not a checked state: a click on a step must not move or clear the highlight
            button.setProperty("current", i == current)
            button.style().unpolish(button)
            button.style().polish(button)
        self.current = current
        self.hint.setText(f"Next: {WORKFLOW_STEPS[current].hint}")
        return current


def raise_dock(viewer, display_name: str, plugin: str = "napari-licell") -> Callable | None:
    """Show and raise the plugin dock ``display_name`` (opened through the manifest when not open yet)."""
    frame, widget = viewer.window.add_plugin_dock_widget(plugin, display_name)
    frame.show()
    frame.raise_()
    return widget
