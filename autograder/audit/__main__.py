"""``python -m autograder.audit``: see ``autograder.audit.run``."""
import sys

from autograder.audit.run import main

sys.exit(main())
