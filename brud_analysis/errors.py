"""The one exception type users see.

Every user error (bad reward text, unknown agent, NaN data, a divergent run ...) is raised as
:class:`BrudError` with a one-line message; the ``brud`` command prints it and exits with 2.
"""

from __future__ import annotations


class BrudError(ValueError):
    """A user-facing error with a one-line, actionable message.

    Example:
        >>> try:
        ...     raise BrudError("reward is not a polynomial in x, y: sin(x)")
        ... except BrudError as err:
        ...     print(err)
        reward is not a polynomial in x, y: sin(x)
    """
