"""User-facing errors: each carries one clear message naming what is wrong and what is allowed."""


class DDXError(Exception):
    """Base class for problems caused by user input (config, data file, run file, output path)."""


class ConfigError(DDXError):
    """An experiment config or preset is malformed or holds a value outside its allowed range."""


class DataFileError(DDXError):
    """A user data file is missing, unreadable or does not hold a valid dataset."""


class RunFileError(DDXError):
    """A run file is missing, unreadable, truncated or not a DDX run file."""


class OutputError(DDXError):
    """A run file cannot be written where the user asked."""


class ResourceError(DDXError):
    """The machine cannot run the experiment as configured (e.g. the GPU ran out of memory)."""


class UsageError(DDXError):
    """The command line's arguments contradict each other."""


class ClusterError(DDXError):
    """A Dask cluster cannot be reached or set up, or a task failed on one of its workers."""
