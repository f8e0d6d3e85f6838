"""Warnings and errors raised by skalign."""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning

__all__ = [
    "ConvergenceWarning",
    "DeviceWarning",
    "DisconnectedComparisonsWarning",
    "InconsistentVersionWarning",
    "MissingGroupsWarning",
    "SkalignWarning",
]


class SkalignWarning(UserWarning):
    """Base class of every warning skalign emits."""


class ConvergenceWarning(SkalignWarning, _SklearnConvergenceWarning):
    """Training stopped at ``max_epochs`` before the convergence criterion held.

    It is also a :class:`sklearn.exceptions.ConvergenceWarning`, so filters
    written for scikit-learn apply to skalign as well.
    """


class InconsistentVersionWarning(SkalignWarning):
    """A model is loaded by another skalign version than the one that saved it.

    Like :class:`sklearn.exceptions.InconsistentVersionWarning`: the model
    may still work, but nothing guarantees it; refit it with the running
    version, or load it with the version that saved it.

    Parameters
    ----------
    estimator_name : str
        Class name of the loaded estimator.
    original_version : str or None
        skalign version that saved it (``None``: saved without a version,
        i.e. before versions were recorded).
    current_version : str
        The running skalign version.
    """

    def __init__(self, *, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        return (
            f"Trying to load {self.estimator_name} saved by skalign "
            f"{self.original_version or '(unknown version)'} with skalign "
            f"{self.current_version}. This might lead to breaking code or "
            "invalid results; refit the model with this version, or load it "
            "with the version that saved it."
        )


class MissingGroupsWarning(SkalignWarning):
    """A group-aware estimator got ``groups=None`` on data that look grouped.

    ``groups=None`` means one ranking of all rows, which is rarely what
    winner/loser or choice labels (grades 0 and 1, many rows at the top)
    mean: they usually come with a ``groups`` argument that was forgotten,
    or not routed (scikit-learn passes ``groups`` to a splitter only, unless
    metadata routing is enabled). Pass ``groups``; to rank all rows together
    on purpose, pass one group id for every row.
    """


class DisconnectedComparisonsWarning(SkalignWarning):
    """Items compared by indicator features fall into parts that no
    comparison links in both directions.

    With one indicator column per item, the maximum-likelihood strengths
    exist only when the graph of comparisons (an edge from each item to
    every item it beat, both ways for a tie) is strongly connected (Ford,
    1957; Hunter, 2004): otherwise some part always won, or always lost,
    against another, and its strengths run off to infinity. An unpenalised
    Bradley–Terry or Plackett–Luce fit whose strengths spread by more than
    15 checks the graph, and the warning names the parts. Add comparisons,
    or fit with ``alpha > 0``.
    """


class DeviceWarning(SkalignWarning):
    """A model saved on a GPU is loaded where no GPU is available, on the CPU."""
