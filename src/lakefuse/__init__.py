"""lakefuse: integrate the tables of a data lake into one clean table."""

__version__ = "0.1.0"

from lakefuse.config import Settings  # noqa: E402
from lakefuse.errors import InputError, LakefuseError  # noqa: E402


def integrate(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`lakefuse.pipeline.integrate`."""
    from lakefuse.pipeline import integrate as _integrate

    return _integrate(*args, **kwargs)


__all__ = ["InputError", "LakefuseError", "Settings", "__version__", "integrate"]
