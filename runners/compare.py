"""`python -m runners.compare`: a suite of runs. Every record's command names this door; the work is
in `runners/suite/compare.py`."""
import sys

from runners.run.config import main_guard
from runners.suite.compare import main

if __name__ == "__main__":
    sys.exit(main_guard(main, "compare"))
