"""Real data-set loaders (``load_*``) and synthetic generators (``make_*``)."""

from ._real import (
    load_cps1985,
    load_fishing,
    load_inst_eval,
    load_resume,
    load_travel_mode,
    load_wine_ratings,
)
from ._synthetic import (
    make_fair_classification,
    make_fair_regression,
    make_miscalibrated_logits,
    make_pluralistic_preferences,
    make_preferences,
    make_rankings,
)

__all__ = [
    "load_cps1985",
    "load_fishing",
    "load_inst_eval",
    "load_resume",
    "load_travel_mode",
    "load_wine_ratings",
    "make_fair_classification",
    "make_fair_regression",
    "make_miscalibrated_logits",
    "make_pluralistic_preferences",
    "make_preferences",
    "make_rankings",
]
