"""How to install skalign's optional extras, for error messages and docs."""

__all__ = ["install_hint"]


def install_hint(extra):
    """The command that installs the optional ``extra`` of skalign.

    skalign is installed from a checkout of its repository (it is not on a
    package index), so the command is an editable install of the checkout
    with the extra, run in the checkout's root directory.

    Examples
    --------
    >>> install_hint("plot")
    'pip install -e ".[plot]" (in the skalign checkout)'
    """
    return f'pip install -e ".[{extra}]" (in the skalign checkout)'
