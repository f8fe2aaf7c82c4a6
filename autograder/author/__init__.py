"""Author -> release: the chapters' notebooks built from their text sources and the answer key
(``python -m autograder.author``)."""
from autograder.author.notebooks import AuthoringError, build, parse, release

__all__ = ["AuthoringError", "build", "parse", "release"]
