"""`python -m runners.train`: one run. Every record's command names this door; the work is
in `runners/run/train.py`."""
import sys

from runners.run.config import main_guard
from runners.run.train import main

if __name__ == "__main__":
    sys.exit(main_guard(main, "train"))
