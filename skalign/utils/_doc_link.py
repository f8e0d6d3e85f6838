"""Documentation links in the HTML repr of skalign's estimators.

scikit-learn draws a "?" in an estimator's HTML repr (in Jupyter) that links
to the estimator's API page, built from ``_doc_link_module`` and
``_doc_link_template`` on the class (``sklearn.utils._repr_html.base``). Its
default points to scikit-learn.org; skalign's documentation is not published
online, so the link points to the API page of the documentation built
locally from the checkout (``docs/_build/html``, as the README says), or to
the site named by the environment variable ``SKALIGN_DOCS_URL``. Without
either, there is no link rather than a dead one.
"""

import os
from pathlib import Path

#: Where the README's ``sphinx-build`` command writes the HTML docs.
LOCAL_DOCS = Path(__file__).resolve().parents[2] / "docs" / "_build" / "html"


def docs_root():
    """Base URL of the HTML documentation, or None when there is none.

    ``SKALIGN_DOCS_URL`` if set, else the ``file://`` URL of the local build
    when its ``index.html`` exists.
    """
    url = os.environ.get("SKALIGN_DOCS_URL")
    if url:
        return url.rstrip("/")
    if (LOCAL_DOCS / "index.html").is_file():
        return LOCAL_DOCS.as_uri()
    return None


class DocumentationLinkMixin:
    """Points the HTML repr's "?" at the estimator's skalign API page.

    The page is ``generated/<public module>.<class>.html``, as autosummary
    names it from ``docs/api.rst`` (e.g.
    ``generated/skalign.preference.PreferenceRewardRegressor.html``).
    """

    _doc_link_module = "skalign"

    @property
    def _doc_link_template(self):
        root = docs_root()
        if root is None:
            return ""
        return root + "/generated/{estimator_module}.{estimator_name}.html"
