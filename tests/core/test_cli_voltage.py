"""``napari-licell voltage FILE [--json]`` through :func:`napari_licell.cli.main`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_licell.cli import main
from napari_licell.commands import COMMAND_MODULES
from napari_licell.errors import EXIT_BAD_INPUT


def _run_json(capsys, path) -> dict:
    code = main(["voltage", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    lines = out.strip().splitlines()
    assert len(lines) == 1  # one JSON object, one line
    return json.loads(lines[0])


def _write_plating_csv(path, with_rise: bool, with_current: bool = True) -> None:
    """A 4000-min plating record at 0.622 V, sampled every minute; optional rise at 2600 min."""
    rng = np.random.default_rng(11)
    t = np.arange(0.0, 4001.0)
    v = 0.622 + rng.normal(0.0, 0.001, t.size)
    if with_rise:
        after = t >= 2600
        ramp = np.clip((t[after] - 2600) / 20.0, 0.0, 1.0)
        v[after] += 0.15 * ramp + ramp * rng.uniform(-0.05, 0.05, after.sum())
    header = "Test Time (h),Voltage (mV)" + (",Current (uA)" if with_current else "")
    rows = [f"{ti / 60:.6f},{vi * 1e3:.4f}" + (",20.0" if with_current else "") for ti, vi in zip(t, v)]
    path.write_text("\n".join([header, *rows]) + "\n")


def test_voltage_is_registered():
    assert "voltage" in COMMAND_MODULES


def test_json_summary_of_a_plating_curve_with_a_rise(capsys, tmp_path):
    path = tmp_path / "no_interlayer.csv"
    _write_plating_csv(path, with_rise=True)
    summary = _run_json(capsys, path)
    assert summary["format"] == "csv"
    assert summary["n_points"] == 4001
    assert summary["time_min"] == pytest.approx([0.0, 4000.0], abs=1e-3)  # h -> min
    assert summary["voltage_v"][0] == pytest.approx(0.61, abs=0.01)  # mV -> V
    assert summary["current_ma"] == pytest.approx([0.02, 0.02])  # uA -> mA
    assert summary["plateau_v"] == pytest.approx(0.622, abs=5e-4)
    assert summary["rise_onset_min"] == pytest.approx(2600.0, abs=10.0)


def test_json_summary_without_rise_or_current_uses_null(capsys, tmp_path):
    path = tmp_path / "process3.csv"
    _write_plating_csv(path, with_rise=False, with_current=False)
    summary = _run_json(capsys, path)
    assert summary["current_ma"] is None
    assert summary["rise_onset_min"] is None
    assert summary["plateau_v"] == pytest.approx(0.622, abs=5e-4)
    expected_keys = {"format", "n_points", "time_min", "voltage_v", "current_ma", "plateau_v", "rise_onset_min"}
    assert expected_keys <= set(summary)


@pytest.mark.shared_data
def test_json_summary_of_neware_nda(capsys, shared_data):
    summary = _run_json(capsys, shared_data / "echem/neware/TestFile.nda")
    assert summary["format"] == "neware-nda"
    assert summary["n_points"] == 6670
    assert summary["time_min"][0] == 0.0
    assert summary["time_min"][1] == pytest.approx((72373.2578125 - 0.01) / 60, abs=1e-4)
    assert summary["voltage_v"] == pytest.approx([1.7206, 4.2001], abs=1e-4)
    assert summary["current_ma"] == pytest.approx([-3000.96, 1200.77], abs=0.01)


@pytest.mark.shared_data
def test_json_summary_of_gamry_ocp_has_null_current(capsys, shared_data):
    summary = _run_json(capsys, shared_data / "echem/gamry/ocp_data.dta")
    assert summary["format"] == "gamry-dta"
    assert summary["current_ma"] is None


def test_human_summary(capsys, tmp_path):
    path = tmp_path / "run.csv"
    _write_plating_csv(path, with_rise=True)
    assert main(["voltage", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert str(path) in out
    assert "format          csv" in out
    assert "plateau         0.622" in out
    onset = re.search(r"rise onset\s+([0-9.]+) min", out)
    assert onset is not None and float(onset.group(1)) == pytest.approx(2600.0, abs=10.0)
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def _bad(capsys, path, *extra) -> str:
    code = main(["voltage", str(path), *extra])
    out, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("napari-licell: error: ")
    assert str(path) in lines[0]
    return lines[0]


@pytest.mark.parametrize("json_flag", [(), ("--json",)])
def test_missing_file(capsys, tmp_path, json_flag):
    assert "file not found" in _bad(capsys, tmp_path / "missing.mpr", *json_flag)


def test_empty_file(capsys, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "file is empty" in _bad(capsys, path, "--json")


def test_png_renamed_csv(capsys, tmp_path):
    path = tmp_path / "curve.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    assert "not a cycler file (looks like a PNG image)" in _bad(capsys, path, "--json")


def test_csv_without_time_column(capsys, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("voltage,current\n0.62,0.2\n")
    assert "no time column found (columns: voltage, current)" in _bad(capsys, path)


def test_overflowing_time_stays_one_line(capsys, tmp_path):
    path = tmp_path / "ovf.csv"
    path.write_text("time_s,voltage_v\n-1e308,0.6\n1e308,0.6\n")
    assert "time values are out of range" in _bad(capsys, path, "--json")


@pytest.mark.shared_data
def test_truncated_mpr(capsys, shared_data, tmp_path):
    data = (shared_data / "echem/biologic/gcpl.issue_175.mpr").read_bytes()
    path = tmp_path / "cut.mpr"
    path.write_bytes(data[: len(data) // 3])
    assert "truncated BioLogic .mpr" in _bad(capsys, path, "--json")


def test_damaged_nda_logs_nothing_extra(capsys, tmp_path):
    path = tmp_path / "x.nda"
    path.write_bytes(b"NEWARE" + bytes(2000))
    line = _bad(capsys, path, "--json")
    assert "Neware .nda" in line


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    """`napari-licell voltage FILE | head -c 0`: the reader is gone; no traceback, exit 0."""
    import subprocess
    import sys

    path = tmp_path / "plating.csv"
    _write_plating_csv(path, with_rise=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from napari_licell.cli import main; sys.exit(main())",
            "voltage",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader goes away before anything is written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


# --- reader, cycles, steps and the selected charge (issue 19) -------------------------

CYCLER_DATA = Path(__file__).resolve().parents[1] / "data" / "cycler"


@pytest.mark.shared_data
def test_json_reports_reader_cycles_steps_and_first_charge_of_neware_nda(capsys, shared_data):
    """Truth: NewareNDA's reference parse (TestFile.reference.ftr): 3 cycles, 11 steps, first CC_Chg = step 4."""
    reference = pd.read_feather(shared_data / "echem/neware/TestFile.reference.ftr")
    runs = reference.groupby(["Cycle", "Step", "Status"], sort=False).size().reset_index()
    first_charge = runs[runs["Status"] == "CC_Chg"].iloc[0]
    rows = reference[reference["Step"] == first_charge["Step"]]

    summary = _run_json(capsys, shared_data / "echem/neware/TestFile.nda")
    assert summary["reader"].startswith("NewareNDA ")
    assert summary["n_cycles"] == reference["Cycle"].nunique() == 3
    assert summary["n_steps"] == len(runs) == 11
    selected = summary["selected"]
    assert selected["how"] == "first charge step (Li plating)"
    assert (selected["cycle"], selected["step"]) == (int(first_charge["Cycle"]), int(first_charge["Step"]))
    assert selected["n_points"] == len(rows) == 1733
    assert selected["voltage_v"] == pytest.approx([rows["Voltage"].min(), rows["Voltage"].max()], abs=1e-6)
    assert selected["kind"] == "charge"
    # The plateau is that of the charge (CC to 4.2 V), not of the whole record.
    assert rows["Voltage"].min() <= summary["plateau_v"] <= rows["Voltage"].max()


def _arbin_steps():
    """Runs of (Cycle_Index, Step_Index) in the real Arbin CSV, with their median current (pandas)."""
    truth = pd.read_csv(CYCLER_DATA / "arbin_example.csv")
    key = truth["Step_Index"].astype(str) + "/" + truth["Cycle_Index"].astype(str)
    run = (key != key.shift()).cumsum()
    steps = truth.groupby(run, sort=False).agg(
        cycle=("Cycle_Index", "first"),
        step=("Step_Index", "first"),
        n=("Voltage", "size"),
        current=("Current", "median"),
        vmin=("Voltage", "min"),
        vmax=("Voltage", "max"),
    )
    return truth, steps.reset_index(drop=True)


def test_json_default_selection_is_the_first_charge_step(capsys):
    truth, steps = _arbin_steps()
    summary = _run_json(capsys, CYCLER_DATA / "arbin_example.csv")
    assert summary["reader"] == "napari-licell table (pandas)"
    assert summary["n_cycles"] == truth["Cycle_Index"].nunique()
    assert summary["n_steps"] == len(steps)
    first = steps[steps["current"] > 0].iloc[0]
    selected = summary["selected"]
    assert (selected["cycle"], selected["step"], selected["n_points"]) == (first["cycle"], first["step"], first["n"])
    assert selected["voltage_v"] == pytest.approx([first["vmin"], first["vmax"]])


def test_cycle_option_picks_the_first_charge_of_that_cycle(capsys):
    _, steps = _arbin_steps()
    cycle = int(steps["cycle"].max())
    expected = steps[(steps["cycle"] == cycle) & (steps["current"] > 0)].iloc[0]
    code = main(["voltage", str(CYCLER_DATA / "arbin_example.csv"), "--json", "--cycle", str(cycle)])
    out, err = capsys.readouterr()
    assert code == 0, err
    selected = json.loads(out)["selected"]
    assert selected["how"] == f"first charge step of cycle {cycle}"
    assert (selected["cycle"], selected["step"], selected["n_points"]) == (cycle, expected["step"], expected["n"])


def test_step_option_picks_that_step(capsys):
    _, steps = _arbin_steps()
    discharge = steps[steps["current"] < -0.01].iloc[0]  # -4.4 A; step 10 holds one point at -0.1 mA
    code = main(["voltage", str(CYCLER_DATA / "arbin_example.csv"), "--json", "--step", str(int(discharge["step"]))])
    out, err = capsys.readouterr()
    assert code == 0, err
    selected = json.loads(out)["selected"]
    assert selected["step"] == discharge["step"]
    assert selected["n_points"] == discharge["n"]
    assert selected["kind"] == "discharge"
    assert "a discharge step" in selected["how"]


def test_cycle_that_is_not_in_the_file(capsys):
    line = _bad(capsys, CYCLER_DATA / "arbin_example.csv", "--json", "--cycle", "99")
    assert "no cycle 99 in the file" in line


def test_step_that_is_not_in_the_file(capsys):
    line = _bad(capsys, CYCLER_DATA / "arbin_example.csv", "--step", "999")
    assert "no step 999" in line


def test_record_without_current_is_selected_whole(capsys, tmp_path):
    path = tmp_path / "ocv.csv"
    _write_plating_csv(path, with_rise=False, with_current=False)
    summary = _run_json(capsys, path)
    assert summary["n_steps"] == 1
    assert summary["n_cycles"] is None
    assert summary["selected"]["n_points"] == summary["n_points"] == 4001
    assert summary["selected"]["how"].startswith("whole record")


def test_record_without_a_charge_step_is_summarised_whole(capsys):
    """beep's Maccor .052 holds only a discharge: no selection, no error."""
    path = CYCLER_DATA / "maccor_PredictionDiagnostics_000151_test.052"
    truth = pd.read_csv(path, sep="\t", skiprows=1, index_col=False)
    assert (truth["Amps"] < 0).all()
    summary = _run_json(capsys, path)
    assert summary["selected"] is None
    assert summary["n_points"] == len(truth)
    assert any("no charge step" in note for note in summary["notes"])
    # Asking for a charge that is not there is still an error.
    assert "no charge step" in _bad(capsys, path, "--cycle", str(int(truth["Cyc#"].iloc[0])))
