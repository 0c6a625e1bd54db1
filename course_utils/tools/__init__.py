"""Tools around the notebooks: runner, command line, doctor, badges, results page."""
