"""`python -m runners.report`: the leaderboard pages from the records (runners/report/build.py)."""
from runners.report.build import main

main()
