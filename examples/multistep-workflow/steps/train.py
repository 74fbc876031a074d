"""Step 2: fit y = w*x + b by gradient descent on the prepared data; log the RMSE as it improves."""
import argparse
import csv
import json
import math

from tracking import log_artifact, log_metric

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True, help="a local file: `mlflow-ts run` downloads runs:/ URIs first")
parser.add_argument("--learning-rate", type=float, required=True)
parser.add_argument("--epochs", type=float, required=True)
args = parser.parse_args()

with open(args.data) as f:
    rows = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(f)]

w = b = 0.0
n = len(rows)
rmse = float("nan")
for epoch in range(int(args.epochs)):
    grad_w = sum((w * x + b - y) * x for x, y in rows) * 2 / n
    grad_b = sum((w * x + b - y) for x, y in rows) * 2 / n
    w -= args.learning_rate * grad_w
    b -= args.learning_rate * grad_b
    rmse = math.sqrt(sum((w * x + b - y) ** 2 for x, y in rows) / n)
    if epoch % 50 == 0 or epoch == int(args.epochs) - 1:
        log_metric("rmse", rmse, step=epoch)
log_artifact("model.json", json.dumps({"w": w, "b": b}).encode())
print(f"learning_rate={args.learning_rate}: w={w:.3f} b={b:.3f} rmse={rmse:.4f}")
