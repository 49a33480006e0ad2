"""`python -m runners.generate`: text sampled from a recorded byte-level run (runners/run/generate.py)."""
import sys

from runners.run.config import main_guard
from runners.run.generate import main

if __name__ == "__main__":
    sys.exit(main_guard(main, "generate"))
