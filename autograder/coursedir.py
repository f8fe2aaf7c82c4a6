"""The course directory as nbgrader's ``CourseDirectory`` lays it out, the one home of its paths::

    <root>/nbgrader_config.py
    <root>/source/<assignment>/<notebook>.py       text source   (author)
    <root>/source/<assignment>/<notebook>.ipynb    source notebook, with the hidden tests
    <root>/release/<assignment>/<notebook>.ipynb   what students get
    <root>/submitted/<student>/<assignment>/       what nbgrader collect gathers
    <root>/gradebook.db                            the default gradebook
"""
import argparse
from pathlib import Path

#: This repository: the course the package ships.
ROOT = Path(__file__).resolve().parent.parent
if not (ROOT / "nbgrader_config.py").exists():   # installed from the wheel (site-packages):
    ROOT = Path.cwd()                             # the course is where the instructor runs it


class CourseDir:
    """The paths of the course directory at ``root``."""

    def __init__(self, root=ROOT):
        self.root = Path(root)

    def source(self, assignment):
        return self.root / "source" / assignment

    def release(self, assignment):
        return self.root / "release" / assignment

    def text_sources(self):
        """Every chapter's text source, ``source/<assignment>/<notebook>.py``, in order."""
        return sorted(self.root.glob("source/*/*.py"))

    def chapters(self):
        """The assignments whose source notebook exists, ``source/<assignment>/*.ipynb``."""
        return sorted({path.parent.name for path in self.root.glob("source/*/*.ipynb")})

    def released(self):
        """``{assignment: [notebook stem, ...]}`` of every assignment in ``release/``."""
        release = self.root / "release"
        if not release.is_dir():
            return {}
        notebooks = {folder.name: sorted(p.stem for p in folder.glob("*.ipynb"))
                     for folder in sorted(release.iterdir()) if folder.is_dir()}
        return {assignment: stems for assignment, stems in notebooks.items() if stems}


def chapters(course_root=ROOT):
    """The built chapters of the course at ``course_root`` (see ``CourseDir.chapters``)."""
    return CourseDir(course_root).chapters()


def nbgrader_config(course_root=ROOT, db_url=None):
    """nbgrader's configuration rooted at ``course_root``: the course's own ``nbgrader_config.py``
    (this repository's when the course has none)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    home = Path(course_root) if Path(course_root, "nbgrader_config.py").exists() else ROOT
    config = PyFileConfigLoader("nbgrader_config.py", path=str(home)).load_config()
    merged = Config()
    merged.merge(config)
    merged.CourseDirectory.root = str(Path(course_root).resolve())
    if db_url:
        merged.CourseDirectory.db_url = db_url
    return merged


def nbgrader_api(course_root=ROOT, db_url=None):
    """An ``NbGraderAPI`` for the course directory at ``course_root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    config = nbgrader_config(course_root, db_url)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


# The arguments `autograde` and `autograde export` share.

def course_dir(parser):
    """Add ``--course DIR``: default the current directory when it holds an
    ``nbgrader_config.py`` (a course directory), else this repository."""
    here = Path.cwd()
    default = here if (here / "nbgrader_config.py").exists() else ROOT
    parser.add_argument("--course", default=str(default), metavar="DIR",
                        help="the nbgrader course directory holding source/ and release/ "
                             f"(default: the current directory if it holds an "
                             f"nbgrader_config.py, else this repository; now {default})")


def db_url_argument(text):
    """``--db``'s type: ``text`` when it is an SQLAlchemy URL, else a message with examples."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        make_url(text)
    except ArgumentError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an SQLAlchemy URL (e.g. sqlite:////path/gradebook.db or "
            "postgresql://user@host/db)") from None
    return text


def positive(kind):
    """An argparse type: a positive ``kind`` (int, float)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value
    return parse
