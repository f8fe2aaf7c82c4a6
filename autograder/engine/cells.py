"""Reading nbformat v4 cells (dicts, as in a file) the way nbgrader marks them up."""


def nbgrader(cell):
    """The cell's nbgrader metadata (an empty dict if none or malformed)."""
    meta = cell.get("metadata", {}) if isinstance(cell.get("metadata"), dict) else {}
    value = meta.get("nbgrader")
    return value if isinstance(value, dict) else {}


def grade_id(cell):
    """The cell's nbgrader grade id, or None (also when it is not a string)."""
    value = nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) else None


def source(cell):
    """The cell's source as one string (nbformat allows a list of lines)."""
    text = cell.get("source", "")
    return "".join(map(str, text)) if isinstance(text, list) else str(text)


def is_test(cell):
    """An autograded test cell: a locked code cell worth points."""
    meta = nbgrader(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("grade"))
            and not meta.get("solution"))


def is_manual(cell):
    """A manually graded written answer."""
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution")) \
        and cell.get("cell_type") == "markdown"
