"""Starting a notebook: Run and setup_notebook, the machine, the profiles and the settings."""
