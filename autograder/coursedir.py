"""The course directory as nbgrader sees it: source/, release/, submitted/, the gradebook."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("01_locality", "02_cross_correlation", "03_padding_stride", "04_channels",
               "05_pooling")


def chapters(course_root=ROOT):
    """The assignments whose source notebook exists, ``source/<assignment>/*.ipynb``, in order."""
    return sorted({path.parent.name for path in Path(course_root, "source").glob("*/*.ipynb")})


def nbgrader_config(course_root=ROOT, db_url=None):
    """nbgrader's configuration: this repository's ``nbgrader_config.py`` rooted at ``course_root``."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
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
