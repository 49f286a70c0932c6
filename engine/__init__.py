"""DDX engine: experiment config, datasets, models, training and run files (no Qt here)."""

__version__ = "0.5.0"


def open_run(path):
    """A run file as pandas and xarray objects (`engine.notebook.Run`); needs the `analysis` extra."""
    try:
        from engine.notebook import open_run as open_with_pandas
    except ImportError as exc:
        raise ImportError(f'open_run needs pandas and xarray ({exc}): pip install -e ".[analysis]"') from exc
    return open_with_pandas(path)
