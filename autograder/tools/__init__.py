"""Instructor tools: ``demo``, ``bench`` and ``timing``, each a ``python -m`` entry point."""
