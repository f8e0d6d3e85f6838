"""The "?" of an estimator's HTML repr links to its page in skalign's docs."""

import re
from pathlib import Path

import pytest
from sklearn.utils import estimator_html_repr

from skalign.utils import _doc_link, all_estimators

API_RST = Path(__file__).resolve().parents[2] / "docs" / "api.rst"


def _api_pages():
    """``module.Name`` of every autosummary entry of docs/api.rst."""
    pages, module = set(), None
    for line in API_RST.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif module and re.fullmatch(r"   [A-Za-z_]\w*", line):
            pages.add(f"{module}.{line.strip()}")
    return pages


@pytest.mark.parametrize("name, cls", all_estimators(), ids=lambda x: str(x))
def test_link_names_the_estimators_api_page(name, cls, monkeypatch):
    monkeypatch.setenv("SKALIGN_DOCS_URL", "http://docs.example/skalign/")
    link = cls()._get_doc_link()
    page = re.fullmatch(r"http://docs\.example/skalign/generated/(.+)\.html", link)
    assert page, link
    # The page autosummary generates from docs/api.rst for this class.
    assert page.group(1) in _api_pages()
    assert page.group(1).endswith(f".{name}")
    assert link in estimator_html_repr(cls())


def test_link_points_to_the_local_build(tmp_path, monkeypatch):
    from skalign.preference import PreferenceRewardRegressor

    monkeypatch.delenv("SKALIGN_DOCS_URL", raising=False)
    monkeypatch.setattr(_doc_link, "LOCAL_DOCS", tmp_path)
    # Not built: no link rather than a dead one.
    assert PreferenceRewardRegressor()._get_doc_link() == ""
    (tmp_path / "index.html").write_text("<html></html>")
    assert PreferenceRewardRegressor()._get_doc_link() == (
        f"{tmp_path.as_uri()}/generated/"
        "skalign.preference.PreferenceRewardRegressor.html"
    )


def test_local_build_is_where_the_readme_builds_the_docs():
    readme = (API_RST.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "sphinx-build -W -b html docs docs/_build/html" in readme
    assert _doc_link.LOCAL_DOCS == API_RST.parent / "_build" / "html"
