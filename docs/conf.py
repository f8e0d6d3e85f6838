"""Sphinx configuration of the skalign documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html``. Set
``SKALIGN_DOCS_NO_GALLERY=1`` to skip running the gallery examples (their
pages are still generated, without outputs). The build needs no network:
intersphinx reads scikit-learn's and pandas' inventories from
``docs/_inventories/``; the other projects' are only added when
``SKALIGN_DOCS_INTERSPHINX=1`` says they can be downloaded.
"""

import os
import re

import skalign

project = "skalign"
author = "skalign developers"
copyright = "skalign developers"
version = release = skalign.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # A local copy of MathJax, so formulas render without network access.
    "sphinx-mathjax-offline",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_inventories", "generated/backreferences"]
default_role = "literal"

# API pages are generated into docs/generated/ (git-ignored) from api.rst.
autosummary_generate = True
autodoc_typehints = "none"
# Members are listed by the autosummary class template, so numpydoc must not
# add its own (duplicate) member tables.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Links to other projects' API docs. The build is offline, so each project's
# inventory is read from a local copy in docs/_inventories/ (see its README:
# scikit-learn's and pandas' come from Debian's python-sklearn-doc and
# python-pandas-doc); the links point to the projects' sites. numpy, PyTorch,
# skorch and fairlearn publish no inventory that can be had offline, so
# their names stay plain text unless SKALIGN_DOCS_INTERSPHINX=1 says the
# inventories can be downloaded.
_INVENTORIES = os.path.join(os.path.dirname(__file__), "_inventories")
extensions.append("sphinx.ext.intersphinx")
intersphinx_mapping = {
    "sklearn": (
        "https://scikit-learn.org/stable",
        os.path.join(_INVENTORIES, "sklearn.inv"),
    ),
    "pandas": (
        "https://pandas.pydata.org/docs",
        os.path.join(_INVENTORIES, "pandas.inv"),
    ),
}
# Only API objects: labels and glossary terms of an older scikit-learn
# inventory would not match the docstrings of the installed version.
intersphinx_disabled_reftypes = ["std:*"]
if os.environ.get("SKALIGN_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping.update(
        {
            "python": ("https://docs.python.org/3", None),
            "numpy": ("https://numpy.org/doc/stable", None),
            "scipy": ("https://docs.scipy.org/doc/scipy", None),
            "sklearn": ("https://scikit-learn.org/stable", None),
            "pandas": ("https://pandas.pydata.org/docs", None),
            "skorch": ("https://skorch.readthedocs.io/en/stable", None),
            "torch": ("https://pytorch.org/docs/stable", None),
            "fairlearn": ("https://fairlearn.org/main", None),
        }
    )
    intersphinx_disabled_reftypes = []

# Methods inherited from scikit-learn (get_params, set_output,
# set_fit_request, ...) carry docstrings that cite labels and glossary terms of
# scikit-learn's own documentation. Without intersphinx those targets do not
# exist here, so such references are shown as plain text.
_SKLEARN_XREF = re.compile(r":(ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _plain_text(match):
    role, title, target = match.groups()
    if title:
        return title
    return target if role == "term" else "scikit-learn's documentation"


def _unlink_sklearn_xrefs(app, what, name, obj, options, lines):
    if intersphinx_disabled_reftypes == []:
        return
    if (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        lines[:] = [_SKLEARN_XREF.sub(_plain_text, line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_xrefs)


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every example runs, not only the plot_* ones.
    "filename_pattern": r"\.py$",
    "plot_gallery": "False"
    if os.environ.get("SKALIGN_DOCS_NO_GALLERY") == "1"
    else "True",
    "doc_module": ("skalign",),
    "backreferences_dir": "generated/backreferences",
    # The timing pages would load DataTables from a CDN; the docs stay offline.
    "write_computation_times": False,
    "remove_config_comments": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skalign {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "icon_links": [],
}
html_show_sourcelink = False
