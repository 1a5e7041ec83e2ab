"""The Study dock's widgets: open buttons with the recent files, the tree of cells, the metadata box."""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QHeaderView, QLabel, QMenu, QPushButton, QTreeWidget, QVBoxLayout

from .cell_metadata_form import CellMetadataForm
from .recent_files import recent_files, remember_file
from .workflow_strip import WorkflowStrip

__all__ = ["RecentFilesButton", "StudyWidgets", "COLUMNS"]

#: Columns of the tree of cells: short headers (their tooltips say them whole), so every column fits a
#: laptop's dock column and only a long cell name is elided.
COLUMNS = ("Cell", "Process", "Gas", "mA/cm²", "min")
COLUMN_TIPS = (
    "Cell name",
    "Carbon-interlayer process",
    "Fill gas and pressure",
    "Current density (mA/cm²)",
    "Charge time (minutes)",
)


class RecentFilesButton(QPushButton):
    """ "Recent": a menu of the files opened lately (kept in the user's settings); emits ``chosen(path)``."""

    chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Recent", parent)
        self.menu_ = QMenu(self)
        self.setMenu(self.menu_)
        self.refresh()

    def remember(self, path: str) -> None:
        """Put ``path`` on top of the list (a failing settings store is no error for the user)."""
        try:
            remember_file(path)
        except Exception:  # noqa: BLE001 - settings storage is a convenience
            return
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the menu from the settings."""
        self.menu_.clear()
        for path in recent_files():
            action = self.menu_.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.chosen.emit(p))
        self.setEnabled(bool(self.menu_.actions()))


class StudyWidgets:
    """Every control of the Study dock, added top to bottom to ``layout`` (the dock's body).

    :attr:`CONTROLS` are the ones the dock connects.
    """

    CONTROLS = (
        "workflow",
        "open_study_button",
        "open_scan_button",
        "recent_button",
        "recent_menu",
        "demo_button",
        "tree",
        "details",
        "form",
        "apply_button",
        "save_button",
        "restore_button",
    )

    def __init__(self, layout: QVBoxLayout):
        self.workflow = WorkflowStrip()
        layout.addWidget(self.workflow)
        buttons = QHBoxLayout()
        self.open_study_button = QPushButton("Open study…")
        self.open_scan_button = QPushButton("Open scan…")
        self.recent_button = RecentFilesButton()
        self.recent_menu = self.recent_button.menu_
        for b in (self.open_study_button, self.open_scan_button, self.recent_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.demo_button = QPushButton("Open demo study")
        self.demo_button.setToolTip("Six synthetic cells made from X-ray physics: the four processes and an Ar/Xe pair")
        layout.addWidget(self.demo_button)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        for column, tip in enumerate(COLUMN_TIPS):
            self.tree.headerItem().setToolTip(column, tip)
        self.tree.setRootIsDecorated(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setMinimumHeight(90)
        layout.addWidget(self.tree, 1)
        self.details = QLabel("No study open. Open a scan or a study, or try the demo study.")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        layout.addWidget(self._metadata_box())
        self.restore_button = QPushButton("Restore unsaved changes")
        self.restore_button.setVisible(False)
        layout.addWidget(self.restore_button)

    def _metadata_box(self) -> QGroupBox:
        box = QGroupBox("Cell metadata")
        box_layout = QVBoxLayout(box)
        self.form = CellMetadataForm()
        box_layout.addWidget(self.form)
        row = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Use these values for the cell's layers (scale, gas, charge) in every dock")
        self.save_button = QPushButton("Save study…")
        row.addWidget(self.apply_button)
        row.addWidget(self.save_button)
        box_layout.addLayout(row)
        return box
