"""Maintainer tools: the notebook runner, the command line, the doctor, badges and the results page."""
