"""The instructor side: the answer key and the grading pipeline."""
import sys

# nbformat imports jsonschema, whose format checker imports rfc3987_syntax when it is installed
# (jsonschema[format-nongpl], through jupyter_events): that compiles ~35 Lark grammars at
# import, 2-3 s of every grader process's start (the coordinator's, the forkserver's), for the
# "iri" formats, which no notebook schema uses (python-jsonschema/jsonschema#1428). Without the
# module jsonschema leaves "iri" unchecked, as it does wherever the extra is not installed.
sys.modules.setdefault("rfc3987_syntax", None)


class GraderError(RuntimeError):
    """The grader itself cannot run (no release, a bad argument, no gradebook); says what to do."""
