"""The withheld method (copied over workspace/ by `rgym tasks verify`): TODO(rgym) the paper's method.

This example fits y = a + b * x by least squares.
"""

import csv

with open("train.csv", newline="") as f:
    rows = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(f)]
n = len(rows)
mx = sum(x for x, _ in rows) / n
my = sum(y for _, y in rows) / n
sxx = sum((x - mx) ** 2 for x, _ in rows)
sxy = sum((x - mx) * (y - my) for x, y in rows)
slope = sxy / sxx
intercept = my - slope * mx

with open("test.csv", newline="") as f:
    test = [(r["id"], float(r["x"])) for r in csv.DictReader(f)]
with open("predictions.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["id", "prediction"])
    for row_id, x in test:
        writer.writerow([row_id, f"{intercept + slope * x:.6f}"])
print(f"wrote predictions.csv: {len(test)} rows")
