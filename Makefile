# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel; GPU users: TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test lint format clean bundled-model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -m pip install $(TORCH_SPEC)
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/lvwall demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: lint
	$(BIN)/python -m pytest -n 2

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache

# The bundled default model (src/lvwall/assets/): phantom pre-training, then fine-tuning on
# all the CAMUS dev frames in ../shared/data (CC BY-NC-SA 4.0; never copied into the repo)
# for a fixed 60 epochs once per seed in BUNDLED_SEEDS, each averaging its weights over its
# second half (stochastic weight averaging), and the uniform soup of those fine-tunes; the
# recipe that benchmarks/camus_cv.py --seeds 0,1,2 --swa-start 0.5 cross-validates. The
# phantom recordings of seed 2 only monitor the runs: their last checkpoints are souped.
# BUNDLED_PRESET picks the U-Net (the previous bundled model: `BUNDLED_PRESET=fast5`).
CAMUS ?= ../shared/data/camus-a4c-dev
BUNDLED_SEEDS ?= 0 1 2
BUNDLED_PRESET ?= fast6
bundled-model: $(VENV)/.installed
	$(BIN)/lvwall simulate runs/phantom60 --recordings 60 --seed 1 --workers 2
	$(BIN)/lvwall simulate runs/phantom-val --recordings 10 --seed 2
	$(BIN)/lvwall train --data runs/phantom60 --loss dice --preset $(BUNDLED_PRESET) --epochs 8 \
		--frames-per-epoch 1000 --batch-size 16 --augment echo --out runs/pretrain
	for seed in $(BUNDLED_SEEDS); do \
		$(BIN)/lvwall train --data $(CAMUS) --val-data runs/phantom-val \
			--init runs/pretrain/best.ckpt --loss dice-bce --epochs 60 --frames-per-epoch 80 \
			--batch-size 8 --augment echo --patience 60 --swa-start 0.5 --seed $$seed \
			--out runs/bundled-seed$$seed || exit 1; \
	done
	$(BIN)/lvwall soup $(foreach seed,$(BUNDLED_SEEDS),runs/bundled-seed$(seed)/last.ckpt) \
		--out runs/bundled-soup.safetensors
	$(BIN)/lvwall export runs/bundled-soup.safetensors --install-default --force
