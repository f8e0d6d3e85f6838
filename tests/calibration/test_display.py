"""ReliabilityDiagramDisplay."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skalign.calibration import ReliabilityDiagramDisplay, TemperatureScaling
from skalign.metrics import expected_calibration_error

pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_from_predictions_bins_and_counts():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=1000)
    y = rng.uniform(size=1000) < p**2
    display = ReliabilityDiagramDisplay.from_predictions(y, p, n_bins=10, name="m")
    assert display.bin_counts.sum() == 1000
    assert display.bin_edges.shape == (11,)
    assert_allclose(display.ece, expected_calibration_error(y, p, n_bins=10))
    assert len(display.count_bars_) == 10
    assert display.line_.get_label().startswith("m (ECE")
    # Observed frequencies sit below the diagonal: p ** 2 < p.
    assert np.all(display.prob_true <= display.prob_pred + 0.1)
    quantile = ReliabilityDiagramDisplay.from_predictions(
        y, p, n_bins=4, strategy="quantile", show_counts=False
    )
    assert_allclose(quantile.bin_counts, 250)
    assert quantile.count_bars_ is None


def test_from_estimator_on_a_calibrator():
    rng = np.random.default_rng(0)
    logits = 3 * rng.normal(size=(600, 3))
    y = (logits / 3 + rng.gumbel(size=(600, 3))).argmax(axis=1)
    ts = TemperatureScaling().fit(logits, y)
    display = ReliabilityDiagramDisplay.from_estimator(ts, logits, y)
    assert_allclose(
        display.ece, expected_calibration_error(y, ts.predict_proba(logits))
    )
    assert display.line_.get_label().startswith("TemperatureScaling")
    classwise = ReliabilityDiagramDisplay.from_estimator(
        ts, logits, y, kind="classwise"
    )
    assert classwise.bin_counts.sum() == 3 * 600


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install -e \"\.\[plot\]\""):
        ReliabilityDiagramDisplay.from_predictions([0, 1], [0.2, 0.7])
