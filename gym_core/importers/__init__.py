"""Importers: tasks in other benchmarks' formats (MLGym, ResearchGym) as rgym task folders.

One module per source format (:mod:`gym_core.importers.mlgym`, :mod:`gym_core.importers.researchgym`), what
they share in :mod:`gym_core.importers.common`, and :mod:`gym_core.importers.mlgym_grader`, the grader
adapter an MLGym import copies into its ``eval/`` folder.
"""
