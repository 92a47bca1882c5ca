"""A stand-in for scripts/train_worker.py that speaks its protocol without torch (run by the test venv's python).

It reads what to hand back from FAKE_TRAIN_SPEC (JSON): `onnx` and `predictions` (paths it reports as its
export and its ultralytics predictions), `epoch_seconds` (how long an epoch takes). Like the real worker it
stops at an epoch boundary once the stop file appears, and leaves `stopped.txt` in --out to show it did;
`crash` makes it die after its first epoch with that message on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--imgsz", type=int, required=True)
    parser.add_argument("--stop-file", type=Path, required=True)
    args, _ = parser.parse_known_args()
    spec = json.loads(os.environ["FAKE_TRAIN_SPEC"])
    args.out.mkdir(parents=True, exist_ok=True)
    for epoch in range(1, args.epochs + 1):
        time.sleep(float(spec.get("epoch_seconds", 0)))
        if args.stop_file.exists():
            (args.out / "stopped.txt").write_text(str(epoch))
            print(json.dumps({"event": "stopped", "epoch": epoch}), flush=True)
            return
        print(json.dumps({"event": "epoch", "epoch": epoch, "epochs": args.epochs, "box_loss": 2.0 / epoch,
                          "cls_loss": 3.0 / epoch, "dfl_loss": 1.0, "precision": 0.1 * epoch, "recall": 0.1 * epoch,
                          "map50": 0.1 * epoch, "map50_95": 0.05 * epoch}), flush=True)
        if spec.get("crash"):
            print(spec["crash"], file=sys.stderr, flush=True)
            sys.exit(3)
    weights = args.out / "best.pt"
    weights.write_bytes(b"not really weights")
    plot = args.out / "results.png"
    shutil.copyfile(spec["plot"], plot)
    summary = {
        "best_pt": str(weights), "onnx": spec["onnx"], "imgsz": args.imgsz, "epochs": args.epochs,
        "predictions": spec["predictions"], "plots": {"results.png": str(plot)},
        "validation": {"precision": 0.5, "recall": 0.5, "map50": 0.5, "map50_95": 0.25, "per_class": {},
                       "confusion_matrix": {"labels": [], "matrix": []}},
    }
    (args.out / "summary.json").write_text(json.dumps(summary))
    print(json.dumps({"event": "done", "summary": str(args.out / "summary.json")}), flush=True)


if __name__ == "__main__":
    main()
