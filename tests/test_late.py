"""Late policy: on time, late within grace, late, the cap, an extension; stored in nbgrader's
``late_submission_penalty`` so that nbgrader and ``autograde export`` agree."""
import datetime

import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from autograder.record import export, late

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
DUE = datetime.datetime(2030, 3, 1, 17, 0)


def _policy(**settings):
    config = Config()
    for key, value in settings.items():
        setattr(config.LatePolicy, key, value)
    return late.LatePolicy(config=config)


def test_policy_per_hour_with_grace_and_cap():
    policy = _policy(per="hour", percent=10, cap=50, grace_minutes=15)
    assert policy.penalty(0, 20) == 0
    assert policy.penalty(14 * 60, 20) == 0            # within grace
    assert policy.penalty(16 * 60, 20) == 2            # late: one started hour, 10 % of 20
    assert policy.penalty(2 * 3600 + 600, 20) == 6     # 2 h 10 min: three started hours
    assert policy.penalty(30 * 3600, 20) == 10         # capped at 50 %
    assert _policy(per="day", percent=20).penalty(25 * 3600, 10) == 4   # two started days
    assert late.LatePolicy().penalty(10 ** 6, 10) == 0   # no policy configured: no penalty


@pytest.fixture
def gradebook(tmp_path):
    gb = Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    gb.add_assignment("a1", duedate=DUE)
    gb.add_notebook("nb", "a1")
    gb.add_grade_cell("test_f", "nb", "a1", max_score=10, cell_type="code")
    gb.add_solution_cell("f", "nb", "a1")
    minutes = {"on_time": -5, "grace": 10, "late": 125, "extended": 125}
    for student, late_by in minutes.items():
        gb.add_student(student)
        gb.add_submission("a1", student, timestamp=DUE + datetime.timedelta(minutes=late_by))
        gb.find_grade("test_f", "nb", "a1", student).auto_score = 10
    gb.db.commit()
    yield gb
    gb.close()


@pytest.mark.slow
def test_penalties_in_the_gradebook_and_the_export(gradebook, tmp_path):
    extensions_file = tmp_path / "extensions.csv"
    extensions_file.write_text("student_id,assignment,hours\nextended,a1,3\n")
    policy = _policy(per="hour", percent=10, cap=100, grace_minutes=15)
    extensions = late.read_extensions(extensions_file)
    late_by = {s: late.assign(gradebook, "a1", s, policy, extensions)
               for s in ("on_time", "grace", "late", "extended")}
    gradebook.db.commit()
    assert late_by == {"on_time": 0, "grace": 600, "late": 125 * 60, "extended": 0}
    stored = {s: gradebook.find_submission("a1", s).late_submission_penalty
              for s in late_by}
    assert stored == {"on_time": 0, "grace": 0, "late": 3, "extended": 0}
    assert gradebook.find_submission("a1", "extended").extension == datetime.timedelta(hours=3)
    final = {g.student_id: g.score for g in export.final_grades(gradebook)}
    assert final == {"on_time": 10, "grace": 10, "late": 7, "extended": 10}


@pytest.mark.parametrize("text, message", [
    ("student,assignment,hours\n", "lacks the column(s) student_id"),
    ("student_id,assignment,hours\nann,a1,soon\n", "line 2: hours 'soon' is not a number"),
    ("student_id,assignment,hours\nann,a1,-1\n", "line 2: needs a student"),
    ("student_id,assignment,hours\nann,a1,1\nann,a1,2\n", "line 3: ann/a1 twice"),
])
def test_bad_extensions_file_is_named(tmp_path, text, message):
    path = tmp_path / "extensions.csv"
    path.write_text(text)
    with pytest.raises(late.LateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        late.read_extensions(path)
    assert late.read_extensions(tmp_path / "none.csv") == {}
