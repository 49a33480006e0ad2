"""`python -m runners.bench`: the scan-core benchmark (runners/bench/scan.py)."""
from runners.bench.scan import main

main()
