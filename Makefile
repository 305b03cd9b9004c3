# What a newcomer types is what CI runs: `make demo`, `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1
# Lambda code lives in lambdas/ (the asset root); the local runner imports it as Lambda would.
export PYTHONPATH := lambdas:.

# Layers of native wheels for Lambda's python3.14 on arm64 (manylinux wheels, no Docker):
# the Report Lambda's Pillow, the Convert and ConvertChunk Lambdas' OpenCV (with numpy).
PILLOW_LAYER := build/layers/pillow
OPENCV_LAYER := build/layers/opencv
LAMBDA_PLATFORM := --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
	--implementation cp --python-version 3.14 --only-binary=:all:
# pip would compile .pyc files for this machine's Python, which Lambda's 3.14 never reads.
LAYER_PIP := $(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-compile
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# checkov scans the synthesized templates in tests/infra. Its own venv: its pins clash with ours.
CHECKOV_VENV := build/tools/checkov

.PHONY: install layers runtime tools browser demo test unit lint typecheck bench synth verify \
	verify-env clean

install: $(VENV)/.installed node_modules/.installed layers runtime tools browser

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

layers: $(PILLOW_LAYER).installed $(OPENCV_LAYER).installed

$(PILLOW_LAYER).installed: requirements-layer-pillow.txt | $(VENV)/.installed
	rm -rf $(PILLOW_LAYER)
	$(LAYER_PIP) $(LAMBDA_PLATFORM) --target $(PILLOW_LAYER)/python -r requirements-layer-pillow.txt
	touch $@

$(OPENCV_LAYER).installed: requirements-layer-opencv.txt | $(VENV)/.installed
	rm -rf $(OPENCV_LAYER)
	$(LAYER_PIP) $(LAMBDA_PLATFORM) --target $(OPENCV_LAYER)/python -r requirements-layer-opencv.txt
	touch $@

# The local cloud runs each function as Lambda loads it: its asset, its layers, then the runtime.
# These are the parts AWS provides, for this machine: the runtime's SDK, a stand-in of the
# managed Powertools layer, and a same-version stand-in of each layer we build for arm64.
RUNTIME_DIR := build/lambda-runtime
runtime: $(RUNTIME_DIR)/.installed

$(RUNTIME_DIR)/.installed: requirements-lambda-runtime.txt requirements-layer-powertools.txt \
		requirements-layer-pillow.txt requirements-layer-opencv.txt | $(VENV)/.installed
	rm -rf $(RUNTIME_DIR)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		--target $(RUNTIME_DIR)/runtime -r requirements-lambda-runtime.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		--target $(RUNTIME_DIR)/layers/powertools/python -r requirements-layer-powertools.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		--target $(RUNTIME_DIR)/layers/pillow/python -r requirements-layer-pillow.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		--target $(RUNTIME_DIR)/layers/opencv/python -r requirements-layer-opencv.txt
	touch $@

tools: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	rm -rf $(CHECKOV_VENV)
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# Headless Chromium renders report.html in tests/browser (Debian packages; installed once).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

demo: install
	$(PY) -m localrun.demo --out demo-output

test: install lint typecheck
	$(PY) -m pytest -n 2 tests

unit: install
	$(PY) -m pytest tests/unit

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy lambdas stacks localrun samples benchmarks verify training app.py tests/infra tests/deploy

bench: install
	$(PY) -m benchmarks.run

synth: install
	npx cdk synth --quiet

# `make verify`: Ultralytics itself reads every demo dataset and trains one epoch on it (slow, not
# part of `make test`). PyTorch is Debian's CPU build (why: requirements-verify.txt), so the venv
# is made by Debian's python3 and sees its packages.
VERIFY_APT := python3-venv python3-yaml python3-torch python3-torchvision
VERIFY_VENV := build/tools/ultralytics
VERIFY_PY := $(VERIFY_VENV)/bin/python

verify-env: $(VERIFY_VENV)/.installed

$(VERIFY_VENV)/.installed: requirements-verify.txt
	@if ! dpkg -s $(VERIFY_APT) >/dev/null 2>&1; then \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(VERIFY_APT); \
	fi
	rm -rf $(VERIFY_VENV)
	/usr/bin/python3 -m venv --system-site-packages $(VERIFY_VENV)
	$(VERIFY_PY) -m pip install --quiet --disable-pip-version-check -r requirements-verify.txt
	touch $@

# The check fails on broken datasets (selftest), then passes on every dataset of the demo, with
# the task its report.json names (none: detect). Then the training step's train.py trains one
# epoch as a local SageMaker job on a detect, a segment and a classify dataset (localrun.training,
# in our venv; the job in the verify venv), and resumes a detect job killed after epoch 1. Last,
# the whole step deployed on the local cloud: the demo job converted, published, trained through
# createTrainingJob.sync with the real Ultralytics, its model published by ModelReady.
verify: verify-env demo
	$(VERIFY_PY) verify/selftest.py demo-output/demo-shapes
	@for dataset in demo-output/*/; do \
		[ -f "$$dataset/report.json" ] || continue; \
		$(VERIFY_PY) verify/ultralytics_check.py --task report "$$dataset" || exit 1; \
	done
	$(PY) verify/train_check.py --python $(VERIFY_PY) --resume demo-output/demo-shapes \
		demo-output/demo-segmentation demo-output/demo-classification
	$(PY) verify/train_pipeline.py --python $(VERIFY_PY)

clean:
	rm -rf $(VENV) node_modules cdk.out build demo-output bench-output .mypy_cache .ruff_cache .pytest_cache
