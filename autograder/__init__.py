"""The instructor side: the answer key and the grading pipeline."""
