"""What a suite's warm worker imports once (runners/suite/workers.py), so that every run forked from it starts
with torch, Lightning, the project and the optional libraries the task kinds declare already imported."""
import importlib

import lightning  # noqa: F401
import zoo  # noqa: F401
from tasks import base, kinds  # noqa: F401

from runners.run import env, train, trainer  # noqa: F401

for name in kinds.libraries():
    try:
        importlib.import_module(name)
    except ImportError:  # an extra not installed here; a run that needs it says so itself
        pass
