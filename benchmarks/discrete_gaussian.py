"""The discrete Gaussian's calibration against the analytic Gaussian's, per unit (BENCHMARKS.md).

For each unit (shift x counts) and epsilon: the analytic (continuous) sigma, the sigma the
ledger's discrete-Gaussian PLD calibrates, the extra noise, what the discrete Gaussian at the
analytic sigma really spends, and the calibration's time. Run from the repository root:
``.venv/bin/python benchmarks/discrete_gaussian.py``.
"""

from __future__ import annotations

import math
import time

from dpforecast.privacy.discrete_gaussian_accounting import analytic_sigma, calibrate_sigma, discrete_epsilon

DELTA = 1e-7
UNITS = [("Montreuil event, raw counts (1 x 2)", 1, 2), ("Montreuil event (3 x 2)", 3, 2),
         ("Montreuil day (3 x 96)", 3, 96), ("Montreuil person (3 x 6,912)", 3, 6912),
         ("Auckland event (10 x 1)", 10, 1), ("Auckland person (10 x 61,368)", 10, 61368)]


def main() -> None:
    print("| unit (shift x counts) | epsilon | analytic sigma | calibrated sigma | more noise "
          "| epsilon of the analytic sigma, discrete | calibration time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, shift, counts in UNITS:
        for epsilon in (1.0, 10.0):
            start = time.perf_counter()
            sigma = calibrate_sigma(epsilon, DELTA, shift, counts)
            seconds = time.perf_counter() - start
            reference = analytic_sigma(epsilon, DELTA, shift * math.sqrt(counts))
            print(f"| {name} | {epsilon:g} | {reference:.4g} | {sigma:.4g} | {100 * (sigma / reference - 1):+.2f} % "
                  f"| {discrete_epsilon(reference, shift, counts, DELTA):.4f} | {seconds:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
