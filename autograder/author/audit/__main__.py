"""``python -m autograder.author.audit``: see ``autograder.author.audit.run``."""
import sys

from autograder.author.audit.run import main

sys.exit(main())
