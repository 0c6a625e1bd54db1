"""Exercises that can fail: a registry of the functions learners write, strict checkers, and the
``use`` call the notebooks make after each exercise. Taught from 01_knn_cifar10 on.

``python -m course_utils exercises list | check ID FILE | solution ID | grade NOTEBOOK.ipynb``.
"""
from .api import check, check_file, grade, solution_source, use
from .registry import EXERCISES, REGISTRY, Exercise, get

__all__ = ["use", "check", "check_file", "grade", "solution_source", "EXERCISES", "REGISTRY", "Exercise", "get"]
