"""Training: the `train` job turns reviewed frames (and a rendered base set) into a registered model version.

`params.py` checks what a caller asks for; `dataset.py` writes the YOLO dataset through the one writer;
`worker.py` runs scripts/train_worker.py in the training venv (.venv-train: torch and ultralytics never enter
this process) and reads its JSON lines; `parity.py` checks the ONNX export against the trained weights with
Vodscope's own detector; `register.py` stores the files and the ModelVersion; `evaluation.py` and
`heldout.py` measure every version on the same held-out frames; `job.py` is the handler that strings them
together; `chart.py` draws the epochs for the job card; `selectors.py` reads for the Models page.
"""
