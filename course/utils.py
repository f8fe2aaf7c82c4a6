"""Small helpers that the chapters share."""


def pair(value):
    """Return ``value`` as an ``(h, w)`` pair: an int ``v`` becomes ``(v, v)``.

    >>> pair(3), pair((1, 2))
    ((3, 3), (1, 2))
    """
    if isinstance(value, int):
        return (value, value)
    h, w = value
    return (h, w)
