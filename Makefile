# The README's commands. Each one sets up .venv itself on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
SUITE  ?= survey
LAUNCHER ?= joblib

.PHONY: install reproduce plan report check-page test test-all bench bench-decode bench-scaling gpu-check clean

# The RecBole wheel is downloaded, not installed: MovieLens-100K is read from its files (tasks/recommendation/)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,bench,vision,graph,cluster,text]"
	$(BIN)/python -m pip download -q --no-deps recbole==1.2.1 -d $(VENV)/wheels
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The main job: re-run the survey (every domain's suite on seed 0) into $(REPRO), resuming there if stopped,
# with its own report, then how far its runs agree with the committed records (a difference is reported, not an
# error). Other suites: make reproduce SUITE="language timeseries"; REPRO=results adds to the committed records.
# A tuned run is re-run at the value its trials in $(TUNED_FROM) chose; TUNED_FROM= re-runs the trials too.
REPRO ?= results/reproduce
TUNED_FROM ?= results
reproduce: $(STAMP)
	set -e; for suite in $(SUITE); do $(BIN)/python -m runners.compare suite=$$suite launcher=$(LAUNCHER) \
		results_dir=$(REPRO) tuned_from=$(TUNED_FROM) $(ARGS); done
	-$(BIN)/python -m runners.suite.agreement --records $(REPRO)/records results/records

# What each run of a suite costs, nothing trained and no data loaded: parameters (counted on the meta device),
# training units, estimated GPU-hours, whether its data is here; results/plans/<suite>.csv and a total.
#   make plan SUITE=survey_paper      then: python -m runners.compare suite=survey_paper launcher=slurm ...
plan: $(STAMP)
	set -e; for suite in $(SUITE); do $(BIN)/python -m runners.compare suite=$$suite plan=true $(ARGS); done

# Rebuild results/index.html (the front page), details.html and leaderboard.md from the records alone.
report: $(STAMP)
	$(BIN)/python -m runners.report

# results/index.html and details.html in headless Chromium (Debian's: apt-get install chromium): console errors,
# tables, plots, links, sorting
check-page: $(STAMP)
	$(BIN)/python -m runners.report.check_page

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

# also the `slow` tests
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "slow or not slow"

bench: $(STAMP)
	$(BIN)/python -m runners.bench $(ARGS)

# decoding tokens/s and state memory against generated length: Mamba, Mamba-2, Transformer++
bench-decode: $(STAMP)
	$(BIN)/python -m runners.bench.decode $(ARGS)

# time and peak memory of training and inference against length, Mamba models against their Transformer baselines
# in every domain (conf/bench/scaling.yaml); ARGS="--device cuda --sizes suite,paper" on a GPU
bench-scaling: $(STAMP)
	$(BIN)/python -m runners.bench.scaling $(ARGS)

# On a CUDA machine: the gpu tests, the Triton kernels against the oracle, one training run per domain and the
# benchmarks, all in results/gpu_check/ (runners/bench/gpu_check.py). PY=python3 uses that machine's own Python and
# packages instead of .venv (a GPU machine lent for minutes has its torch already; nothing is installed then).
PY ?= $(BIN)/python
gpu-check: $(if $(filter $(BIN)/python,$(PY)),$(STAMP))
	$(PY) -m runners.bench.gpu_check $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache outputs
