"""Step 1: generate a noisy linear data set (y = 3x + 2 + noise) and store it as the run's data.csv."""
import argparse
import random

from tracking import log_artifact, log_metric

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=float, required=True)
parser.add_argument("--noise", type=float, required=True)
parser.add_argument("--seed", type=float, required=True)
args = parser.parse_args()

rng = random.Random(int(args.seed))
lines = ["x,y"]
for _ in range(int(args.rows)):
    x = rng.uniform(-1, 1)
    lines.append(f"{x:.6f},{3 * x + 2 + rng.gauss(0, args.noise):.6f}")
log_artifact("data.csv", ("\n".join(lines) + "\n").encode())
log_metric("rows", int(args.rows))
print(f"prepared {int(args.rows)} rows")
