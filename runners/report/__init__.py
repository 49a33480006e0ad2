"""The report, one pipeline in one direction: records -> rows -> statistics and verdicts -> tables
and plots -> pages (runners/report/build.py runs it)."""
