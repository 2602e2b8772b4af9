# `make` builds the venv and runs the whole pipeline; `make test` runs the test suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all train fit plot test bench clean

all: plot

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

data/spike_trains.pkl: $(STAMP) spiking_network.py train_snn.py safe_files.py spike_file.py
	$(PY) train_snn.py

data/hawkes_posterior.npz: data/spike_trains.pkl hawkes_model.py fit_hawkes_process.py safe_files.py spike_file.py \
                          posterior_file.py
	$(PY) fit_hawkes_process.py

train: data/spike_trains.pkl
fit: data/hawkes_posterior.npz
plot: data/hawkes_posterior.npz plot_alpha_heatmaps.py
	$(PY) plot_alpha_heatmaps.py

test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest

bench: $(STAMP) data/spike_trains.pkl
	$(PY) -m benchmarks.bench_snn
	$(PY) -m benchmarks.bench_hawkes
	$(PY) -m benchmarks.validate_hawkes --quick
	$(PY) -m benchmarks.validate_pipeline

clean:
	rm -rf $(VENV) data/*.pkl data/*.npz
