"""Command-line tools: runner, CLI, doctor, badges, results page, book builds."""
