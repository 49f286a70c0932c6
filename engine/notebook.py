"""A run file as pandas and xarray objects, for notebooks: `from engine import open_run`.

Needs the `analysis` extra (`pip install -e ".[analysis]"`: pandas and xarray); the rest of the
engine does not.
"""

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from engine.axes import sweep_axes, swept
from engine.runfile import RunData, load_run


class Run:
    """A finished (or stopped) run, ready for pandas and xarray.

    Attributes
    ----------
    path : str
    config : dict
        The experiment config the run file stores, as plain Python.
    status : str
        `complete`, `stopped`, `running` or `failed`.
    axes : list of str
        The swept config keys, first axis first.
    roles : list of str
        The roles of its points (teacher, student, baseline, then references).
    data : RunData
        The run file as `engine.runfile.load_run` reads it.
    """

    def __init__(self, data: RunData):
        self.data = data
        self.path, self.config, self.status = data.path, data.config, data.status
        self.axes, self.roles = data.axes, data.roles

    def __repr__(self) -> str:
        total = self.data.attrs.get("total_points", "?")
        return f"<Run {Path(self.path).name}: {self.status}, {len(self.data.points)}/{total} points, axes {self.axes}>"

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per finished point: `point`, `seed`, the swept values, then `<role>.<metric>` columns.

        Each role's final value of every metric, its best epoch by validation error
        (`<role>.best_epoch`, `<role>.best_test_error`) and its optimizer `<role>.steps`.
        """
        frame = pd.DataFrame(self.data.summary)
        for column in ("point", "seed"):
            if column in frame:
                frame[column] = frame[column].astype(int)
        return frame

    def metrics(self, role: str) -> list[str]:
        """The per-epoch metrics stored for `role`."""
        return sorted({m for p in self.data.points for m in p.curves.get(role, {}) if m != "epoch"})

    def curves(self, role: str, metric: str = "test_error") -> xr.DataArray:
        """`role`'s `metric` per epoch, dims (swept keys…, seed, epoch), NaN where a point has no value.

        Points still missing, roles that diverged (their curves end early) and roles trained for fewer
        epochs than others are padded with NaN, so `.mean("seed")` averages what exists.
        """
        if role not in self.roles:
            raise KeyError(f"no role {role!r} in {self.path}; it has {', '.join(self.roles)}")
        if metric not in self.metrics(role):
            raise KeyError(f"no metric {metric!r} for {role} in {self.path}; it has {', '.join(self.metrics(role))}")
        axes = sweep_axes(self.config["sweep"])
        seeds = sorted({int(s) for s in self.config["sweep"]["seeds"]} | {p.seed for p in self.data.points})
        stored = [p for p in self.data.points if role in p.curves]
        epochs = np.unique(np.concatenate([p.curves[role]["epoch"] for p in stored])).astype(int)
        coords = {axis.key: list(axis.values) for axis in axes} | {"seed": seeds, "epoch": epochs}
        values = np.full([len(c) for c in coords.values()], np.nan)
        for p in stored:
            at = tuple(coords[a.key].index(swept(p.values[a.key])) for a in axes) + (seeds.index(p.seed),)
            series = p.curves[role]
            values[at][np.searchsorted(epochs, series["epoch"].astype(int))] = series[metric]
        return xr.DataArray(
            values, coords=coords, dims=list(coords), name=f"{role}.{metric}", attrs={"role": role, "run": self.path}
        )


def open_run(path: str | Path) -> Run:
    """Open the run file `path` for analysis (raises RunFileError when it cannot be read)."""
    return Run(load_run(path))
