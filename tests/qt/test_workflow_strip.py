"""The Study dock's workflow strip: the current step stays highlighted whatever the user clicks."""

from __future__ import annotations

from napari_licell._qt.workflow_strip import WORKFLOW_STEPS, WorkflowStrip


def _highlighted(strip: WorkflowStrip) -> list[int]:
    return [i for i, button in enumerate(strip.buttons) if button.property("current")]


def test_the_current_step_keeps_its_highlight_when_any_step_is_clicked(qtbot):
    strip = WorkflowStrip()
    qtbot.addWidget(strip)
    requested = []
    strip.step_requested.connect(requested.append)
    assert strip.show_states([True, False, False, False, False]) == 1
    assert _highlighted(strip) == [1]
    for i in (1, 3, 1, 0):  # walkthrough: clicking the current step cleared it, another step stole it
        strip.buttons[i].click()
        assert _highlighted(strip) == [1], f"after clicking step {i + 1}"
    assert requested == [WORKFLOW_STEPS[i].dock for i in (1, 3, 1, 0)]
    assert strip.buttons[0].text().startswith("✓") and "Next: " + WORKFLOW_STEPS[1].hint == strip.hint.text()
    strip.show_states([True, True, True, False, False])
    assert _highlighted(strip) == [3]


def test_painting_instead_of_thresholds_points_to_measure(qtbot):
    """A new user painted and predicted without thresholds; the hint still said "Next: Suggest thresholds"."""
    strip = WorkflowStrip()
    qtbot.addWidget(strip)
    assert strip.show_states([True, False, True, False, False]) == 3
    assert strip.hint.text() == "Next: " + WORKFLOW_STEPS[3].hint
    assert strip.show_states([True, True, True, True, True]) == 4  # all done: the last step stays lit
