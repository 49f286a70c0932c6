"""Preloaded into every local Dask worker process (engine.cluster.local_cluster) as it starts."""

import logging
import signal


def dask_setup(worker) -> None:
    """Ignore Ctrl+C (SIGINT), and leave the report of a failed task to the client.

    A terminal sends Ctrl+C to the whole process group: the client alone stops the run, cancelling
    the queued tasks and letting the running ones save their checkpoint and return. This covers a
    worker the nanny starts again after a death, and workers started from the app's run thread.
    A task that raises is reported once by the run (its message, the file marked failed); the
    worker's own "Compute Failed" dump, once per retry, would bury it. Dask calls this in the
    worker process's main thread.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed.worker").addFilter(lambda record: not str(record.msg).startswith("Compute Failed"))
