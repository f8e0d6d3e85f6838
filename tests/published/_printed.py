"""Comparing estimates with numbers printed in a publication.

A number printed with ``d`` decimals stands for every value that rounds to
it, so an estimate agrees with it when the two differ by at most half a unit
in the last printed digit, ``0.5 * 10**-d``. Published numbers are kept as
the strings that were printed, so that their precision is read off the
string itself rather than restated by hand.
"""


def printed_tolerance(printed):
    """Half a unit in the last printed digit: ``"2.5031"`` gives ``5e-05``."""
    decimals = len(printed.partition(".")[2])
    return 0.5 * 10.0**-decimals


def assert_matches_printed(estimates, published, *, slack=None, what=""):
    """Assert that every ``estimates[name]`` rounds to ``published[name]``.

    Parameters
    ----------
    estimates : mapping of str to float
        The values computed by the test.
    published : mapping of str to str
        The numbers as printed by the reference.
    slack : mapping of str to float, default=None
        An allowance added to the printed tolerance of a name, for a
        published number known to be only that close to the exact maximum
        (each use states why).
    what : str
        Names the fit in the failure message.
    """
    slack = slack or {}
    lines, failed = [], []
    for name, printed in published.items():
        estimate = float(estimates[name])
        tolerance = printed_tolerance(printed) + slack.get(name, 0.0)
        difference = estimate - float(printed)
        ok = abs(difference) <= tolerance
        if not ok:
            failed.append(name)
        lines.append(
            f"  {'ok  ' if ok else 'FAIL'} {name}: estimate {estimate:.10g}, "
            f"published {printed}, difference {difference:+.3g}, "
            f"tolerance {tolerance:.3g}"
        )
    assert not failed, (
        f"{what}: {len(failed)} of {len(published)} estimates differ from the "
        "published maximum-likelihood values by more than the printed "
        "precision:\n" + "\n".join(lines)
    )
