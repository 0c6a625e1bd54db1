"""Maintainer tools: the notebook runner, the command line, the doctor, badges, the results page and book builds."""
