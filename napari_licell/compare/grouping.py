"""Statistics of the key numbers per bonding process, for studies with several cells per process."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .table import LI_IN_SE, THICKNESS

__all__ = ["PROCESS_ORDER", "ordered_processes", "process_statistics", "boxplot_groups"]

#: Display order of the paper's processes; others follow alphabetically.
PROCESS_ORDER: tuple[str, ...] = ("none", "process1", "process2", "process3")


def ordered_processes(processes: Sequence[str]) -> list[str]:
    """Unique processes, the paper's first in :data:`PROCESS_ORDER`, then the rest sorted."""
    unique = list(dict.fromkeys(str(p) for p in processes))
    known = [p for p in PROCESS_ORDER if p in unique]
    return known + sorted(p for p in unique if p not in PROCESS_ORDER)


def process_statistics(table, columns: Sequence[str] = (THICKNESS, LI_IN_SE)):
    """Count, mean, standard deviation, median, min and max of ``columns`` per process.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`~napari_licell.compare.table.key_numbers_table`.
    columns : sequence of str
        Numeric columns (thickness in µm, Li-in-SE share 0..1 by default).

    Returns
    -------
    pandas.DataFrame
        One row per (process, quantity): ``n`` counts the cells with a finite
        value; ``std`` is the sample standard deviation (NaN for one cell).
    """
    import pandas as pd

    rows = []
    for process in ordered_processes(table["process"]):
        group = table[table["process"] == process]
        for column in columns:
            values = group[column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            n = int(values.size)
            rows.append(
                {
                    "process": process,
                    "quantity": column,
                    "n": n,
                    "mean": float(values.mean()) if n else np.nan,
                    "std": float(values.std(ddof=1)) if n > 1 else np.nan,
                    "median": float(np.median(values)) if n else np.nan,
                    "min": float(values.min()) if n else np.nan,
                    "max": float(values.max()) if n else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=["process", "quantity", "n", "mean", "std", "median", "min", "max"])


def boxplot_groups(table, column: str) -> tuple[list[str], list[np.ndarray]]:
    """Process names and the finite values of ``column`` per process, ready for ``Axes.boxplot``."""
    labels, data = [], []
    for process in ordered_processes(table["process"]):
        values = table.loc[table["process"] == process, column].to_numpy(dtype=float)
        labels.append(process)
        data.append(values[np.isfinite(values)])
    return labels, data
