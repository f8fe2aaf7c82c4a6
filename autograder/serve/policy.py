"""Each assignment's policy for checked submissions, from the course's ``nbgrader_config.py``::

    c.AutogradeServe.policies = {
        "*": {"attempts": 5, "interval": 60},         # every assignment
        "01_locality": {"show": "score", "counts": "best", "deadline": "2027-01-15 23:59"},
    }

- ``attempts``: checked submissions a student has (None: no limit); a submission the grader
  itself could not grade does not use one;
- ``interval``: seconds a student waits between two submissions of the assignment;
- ``show``: ``"tests"`` (each hidden test's message and points) or ``"score"`` (the score only);
- ``counts``: which submission is the grade (the gradebook's): ``"last"`` or ``"best"``;
- ``deadline``: UTC, ``YYYY-MM-DD HH:MM`` (default: the assignment's due date in the gradebook);
- ``after_deadline``: ``"refuse"`` (no more submissions), ``"late"`` (graded and recorded with
  the course's late penalty, as nbgrader does) or ``"feedback"`` (graded and shown, not recorded).
"""
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone

SHOW = ("tests", "score")
COUNTS = ("last", "best")
AFTER_DEADLINE = ("refuse", "late", "feedback")


class PolicyError(ValueError):
    """A policy in the course's configuration that cannot be used (the message says which)."""


@dataclass(frozen=True)
class Policy:
    attempts: int | None = 5
    interval: float = 0.0
    show: str = "tests"
    counts: str = "last"
    deadline: datetime | None = None
    after_deadline: str = "refuse"

    @property
    def deadline_unix(self):
        """The deadline as unix time (None: none)."""
        return self.deadline and self.deadline.replace(tzinfo=timezone.utc).timestamp()


def _checked(where, name, value):
    """``value`` of the policy field ``name`` (of ``where``) as the ``Policy`` holds it."""
    choices = {"show": SHOW, "counts": COUNTS, "after_deadline": AFTER_DEADLINE}
    if name in choices and value not in choices[name]:
        raise PolicyError(f"{where}: {name} is {value!r}; choose one of {', '.join(choices[name])}")
    if name == "attempts" and value is not None and (not isinstance(value, int) or value < 1):
        raise PolicyError(f"{where}: attempts is {value!r}; give a positive whole number or None")
    if name == "interval" and (not isinstance(value, (int, float)) or value < 0):
        raise PolicyError(f"{where}: interval is {value!r}; give seconds, 0 or more")
    if name == "deadline" and value is not None:
        try:
            return datetime.fromisoformat(str(value)).replace(tzinfo=None)
        except ValueError:
            raise PolicyError(f"{where}: deadline is {value!r}; write it as "
                              "YYYY-MM-DD HH:MM (UTC)") from None
    return float(value) if name == "interval" else value


def policies(config, assignments):
    """``{assignment: Policy}`` from nbgrader's ``config`` (``c.AutogradeServe.policies``)."""
    given = config.AutogradeServe.get("policies", {}) if "AutogradeServe" in config else {}
    if not isinstance(given, dict):
        raise PolicyError("c.AutogradeServe.policies must be a dict of {assignment: {...}}")
    names = {f.name for f in fields(Policy)}
    for where, changes in given.items():
        unknown = sorted(set(changes) - names)
        if unknown:
            raise PolicyError(f"c.AutogradeServe.policies[{where!r}]: unknown "
                              f"{', '.join(unknown)} (known: {', '.join(sorted(names))})")
        if where != "*" and where not in assignments:
            raise PolicyError(f"c.AutogradeServe.policies names {where!r}, which is not "
                              f"released (released: {', '.join(assignments)})")
    every = _apply(Policy(), given.get("*", {}), "c.AutogradeServe.policies['*']")
    return {a: _apply(every, given.get(a, {}), f"c.AutogradeServe.policies[{a!r}]")
            for a in assignments}


def _apply(policy, changes, where):
    return replace(policy, **{name: _checked(where, name, value)
                              for name, value in changes.items()})
