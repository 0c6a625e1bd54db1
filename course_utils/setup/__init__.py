"""Setting up a notebook run: settings, profiles, the Run object and what one run hands to the next."""
