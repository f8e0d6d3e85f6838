"""Global configuration of skalign: how many threads a fit may use, and
when a fit computes the covariance of its estimates.

``torch.set_num_threads`` is process-wide state; skalign changes it only for
the duration of a fit or a prediction and puts it back afterwards.
"""

import os
import threading
from contextlib import contextmanager

import torch

__all__ = ["config_context", "get_config", "set_config"]

_config = {"n_threads": "auto", "covariance": "auto"}

_COVARIANCE_SETTINGS = ("auto", "always", "never")

#: Below this much work per evaluation (rows × features, or stored entries of
#: sparse input), a second thread costs more in synchronisation than it saves.
_SMALL_WORK = 1 << 20

_lock = threading.Lock()
_active = 0
_saved_threads = None


def get_config():
    """The current configuration, as a dict.

    Returns
    -------
    config : dict
        ``{"n_threads": ..., "covariance": ...}``; see :func:`set_config`.

    Examples
    --------
    >>> import skalign
    >>> skalign.get_config()["n_threads"]
    'auto'
    """
    return dict(_config)


def set_config(n_threads=None, covariance=None):
    """Set skalign's global configuration.

    Parameters
    ----------
    n_threads : int or "auto", default=None
        Torch intra-op threads a fit or prediction uses. ``"auto"`` (the
        initial setting) picks one thread for small problems and at most
        the cores available to the process (and torch's own setting) for
        large ones, and one thread per fit when several fits run at once in
        threads of one process. An integer is used as given. ``None`` leaves
        the setting unchanged. The process-wide torch setting is restored
        after each call.
    covariance : {"auto", "always", "never"}, default=None
        When the fit of a likelihood model (see :ref:`inference`) computes
        the covariance of its estimates (``covariance_``, what
        ``summary`` and ``confidence_intervals`` read); the
        log-likelihood and the information criteria are always computed.
        ``"auto"`` (the initial setting) computes it when it costs little
        next to the fit itself: parameters x training rows under ``5e7``,
        or, for a linear scorer on sparse rows (one indicator column per
        item), an eigendecomposition and a product within about a thousand
        passes over the stored entries (a million comparisons of 1,000
        items, not 50,000 rankings of 1,500). ``"always"`` computes it
        whenever the model has one: the eigendecomposition of a square
        matrix of the parameters' size, seconds at a few thousand and far
        more beyond. ``"never"`` skips it. ``None`` leaves the setting
        unchanged.

    Examples
    --------
    >>> import skalign
    >>> skalign.set_config(n_threads=1)
    >>> skalign.get_config()["n_threads"]
    1
    >>> skalign.set_config(n_threads="auto")
    """
    if covariance is not None and covariance not in _COVARIANCE_SETTINGS:
        raise ValueError(
            f"covariance must be one of {_COVARIANCE_SETTINGS}; got {covariance!r}."
        )
    if n_threads is not None:
        if n_threads != "auto" and not (
            isinstance(n_threads, int)
            and not isinstance(n_threads, bool)
            and n_threads >= 1
        ):
            raise ValueError(
                f"n_threads must be a positive int or 'auto'; got {n_threads!r}."
            )
        _config["n_threads"] = n_threads
    if covariance is not None:
        _config["covariance"] = covariance


@contextmanager
def config_context(*, n_threads=None, covariance=None):
    """Context manager for :func:`set_config`: the settings hold inside it.

    Examples
    --------
    >>> import skalign
    >>> with skalign.config_context(n_threads=2, covariance="always"):
    ...     skalign.get_config()
    {'n_threads': 2, 'covariance': 'always'}
    """
    old = get_config()
    set_config(n_threads=n_threads, covariance=covariance)
    try:
        yield
    finally:
        set_config(**old)


def _available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_for(work):
    """Threads for a problem with ``work`` scalar entries per evaluation."""
    setting = _config["n_threads"]
    if setting != "auto":
        return setting
    if work < _SMALL_WORK:
        return 1
    return max(1, min(_saved_threads or torch.get_num_threads(), _available_cores()))


@contextmanager
def torch_threads(work):
    """Run the body with :func:`threads_for` ``(work)`` torch threads, then
    restore torch's setting. Concurrent bodies (threads of one process) get
    one thread each, so they never oversubscribe the cores."""
    global _active, _saved_threads
    with _lock:
        if _active == 0:
            _saved_threads = torch.get_num_threads()
        _active += 1
        n = threads_for(work) if _active == 1 else 1
        if n != torch.get_num_threads():
            torch.set_num_threads(n)
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and torch.get_num_threads() != _saved_threads:
                torch.set_num_threads(_saved_threads)
