"""Final metrics of a point from its per-epoch curves, with the epoch a validation split would pick.

Stand-in for `engine.runfile.final_metrics` until the engine provides it: same signature and
behaviour, Qt-free, so it can move to the engine unchanged.
"""

import numpy as np

BEST_METRICS = ("best_epoch", "best_test_error")


def best_epoch(epochs: np.ndarray, val_error: np.ndarray, test_error: np.ndarray) -> tuple[float, float]:
    """The epoch of lowest validation error (the first on ties) and the test error there.

    Returns (NaN, NaN) when no validation error is finite (no validation split, or a closed-form
    reference role).
    """
    val_error = np.asarray(val_error, dtype=float)
    finite = np.isfinite(val_error)
    if not finite.any():
        return np.nan, np.nan
    at = int(np.argmin(np.where(finite, val_error, np.inf)))
    test = float(test_error[at]) if at < len(test_error) else np.nan
    return float(epochs[at]), test


def role_finals(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """One role's last value of every metric, plus best_epoch and best_test_error."""
    final = {m: float(s[-1]) for m, s in curves.items() if len(s)}
    count = max((len(s) for s in curves.values()), default=0)
    epochs = np.asarray(curves.get("epoch", np.arange(1, count + 1)), dtype=float)
    val = curves.get("val_error", np.full(count, np.nan))
    test = curves.get("test_error", np.full(count, np.nan))
    final["best_epoch"], final["best_test_error"] = best_epoch(epochs, val, test)
    return final


def final_metrics(curves: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Each role's final metric values plus best_epoch / best_test_error (NaN without a finite val_error).

    Parameters
    ----------
    curves : role → metric → per-epoch values, as a run file's point stores them
    """
    return {role: role_finals(series) for role, series in curves.items()}
