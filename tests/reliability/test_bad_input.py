"""The shared bad-input suite over every estimator of ``all_estimators()``.

Each case either fails with a ``ValueError``/``TypeError`` whose message
names the argument and the problem (raised by skalign or scikit-learn
validation, never from inside torch), or gives a finite model: finite
outputs and finite parameters. The matrix of cases is in ``_cases.py``.
"""

import re
import traceback
import warnings

import numpy as np
import pytest

from .. import _registry as registry
from ._cases import CASES, NotApplicable, case_data, expected, outcome
from ._fitting import fit_data, outputs

# Fitted attributes documented to hold NaN: not model parameters.
_DOCUMENTED_NAN = {"scores_"}  # PrestoClassifierCV: strengths never searched


def _assert_finite_model(estimator):
    arrays = []
    if hasattr(estimator, "net_"):
        arrays += [p.detach().numpy() for p in estimator.net_.module_.parameters()]
    arrays += [
        value
        for key, value in vars(estimator).items()
        if key.endswith("_")
        and key not in _DOCUMENTED_NAN
        and isinstance(value, np.ndarray)
        and value.dtype.kind == "f"
    ]
    for array in arrays:
        assert np.isfinite(array).all()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", registry.names())
def test_bad_input(name, case):
    try:
        case_data(name, case)
    except NotApplicable as exc:
        pytest.skip(f"n/a: {exc}")
    want = expected(name, case)
    with warnings.catch_warnings():
        # Tiny max_epochs: not converging is expected here.
        warnings.simplefilter("ignore", category=Warning)
        result = outcome(name, case)
    if want == "ok":
        assert not isinstance(result, Exception), result
        for values in outputs(result, fit_data(name)[0]).values():
            if values.dtype.kind == "f":
                assert np.isfinite(values).all()
        _assert_finite_model(result)
        return
    error, pattern = want
    assert isinstance(result, error), f"expected {error.__name__}, got {result!r}"
    assert re.search(pattern, str(result), re.DOTALL), str(result)
    # Raised by validation, not from deep inside torch or skorch.
    frames = traceback.extract_tb(result.__traceback__)
    assert not any(lib in frames[-1].filename for lib in ("/torch/", "/skorch/"))
