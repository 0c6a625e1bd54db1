import sys

from course_utils.tools.cli import main

sys.exit(main())
