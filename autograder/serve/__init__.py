"""``autograde serve``: the warm grading service (instant feedback, and the instructors' fast
regrade).

- ``queue``: the durable queue of accepted submissions (sqlite), the attempt limits kept in it;
- ``policy``: each assignment's policy from the course's ``nbgrader_config.py``;
- ``identity``: who sends a request (the instructor's per-user tokens, or JupyterHub);
- ``service``: the HTTP service (tornado), the warm pool (``autograder.run.pool``) and the
  recorder (``autograder.record.recorder``), as in the batch;
- ``client``: the instructors' side (``grade_via_service``, for ``nbgrader autograde``).

The students' side is ``course.submit`` (it imports nothing of the grader).
"""
