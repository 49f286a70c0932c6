"""Preloaded into every local Dask worker process (engine.cluster.local_cluster) as it starts."""

import logging


def dask_setup(worker) -> None:
    """Leave the report of a failed task to the client.

    A task that raises is reported once by the run (its message, the file marked failed); the
    worker's own "Compute Failed" dump, once per retry, would bury it.
    """
    logging.getLogger("distributed.worker").addFilter(lambda record: not str(record.msg).startswith("Compute Failed"))
