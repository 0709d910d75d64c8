"""Benchmark: the drift statistics of the ML template (ml/drift.py), streamed, vs plain pandas + scipy.

One run writes a reference (the training CSV: 100,000 rows x 10 features, 8 numerical and 2
categorical with 4 values, plus the label) and a request log of 1,000,000 predictions as 10 JSONL
day files, as the model server writes them (ml/prediction_log.py), in a temporary folder. Then,
each in its own subprocess (peak RSS from os.wait4's ru_maxrss, per child):

* streamed: ``drift.drift`` over ``drift.file_lines`` of the day files (Reference.from_csv);
* pandas: the obvious implementation of the same tests, Evidently's default rules (pd.read_csv,
  pd.read_json(lines=True) of every day, then scipy's wasserstein_distance / jensenshannon on the
  columns): the whole log in memory.

Both must agree (the same drift flags; Wasserstein within the bound drift.py reports, Jensen-Shannon
to 1e-9) or the run fails. ``time_ratio`` = streamed / pandas seconds (goal <= 1.0);
``rss_growth_per_day_mib`` = (peak RSS reading 2d days - reading d days) / d of the streamed
implementation (goal ~0: the log is never held), the pandas one beside it.

Detection power, in process, against the same 100,000-row reference: per repetition one current
sample of 1,000 or 10,000 rows in which four features are shifted (num0 +0.2 sigma, num1 +0.5
sigma; cat0 and cat1: 5 % and 20 % of all rows moved from the most frequent category to the
least frequent) and the six others are not; ``power`` = the share of repetitions in which the
shifted feature is flagged; ``false_alarm_rate`` = the share of (repetition, unshifted feature)
flagged, over both sizes, plus the data-set-level rate on wholly unshifted samples.

    .venv/bin/python benchmarks/monitoring.py            # 1,000,000 predictions, 100 repetitions
    .venv/bin/python benchmarks/monitoring.py --quick    # 100,000 predictions, 20 repetitions: < 1 minute

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

NUMERICAL = [f"num{i}" for i in range(8)]
CATEGORICAL = ["cat0", "cat1"]
FEATURES = NUMERICAL + CATEGORICAL
CAT_SHARES = [0.4, 0.3, 0.2, 0.1]
MEANS = np.array([20.0, 3.0, 0.0, -5.0, 100.0, 1.0, 0.5, 7.0])
SCALES = np.array([5.0, 1.0, 2.0, 0.5, 30.0, 0.1, 1.0, 3.0])
SHIFTS = {"mean_0.2sigma": "num0", "mean_0.5sigma": "num1", "category_swap_5%": "cat0", "category_swap_20%": "cat1"}
MiB = 1024 * 1024


def load_drift():
    spec = importlib.util.spec_from_file_location("template_ml_drift", TEMPLATE_DIR / "ml" / "drift.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sample(rng, n: int, mean_shift=(0.0, 0.0), swaps=(0.0, 0.0)) -> np.ndarray:
    """n rows of the 10 features; ``mean_shift`` in sigmas for num0, num1; ``swaps``: the share of
    all rows moved from category 0 (the most frequent) to 3 (the least) in cat0, cat1."""
    shift = np.zeros(8)
    shift[:2] = mean_shift
    numbers = rng.normal(MEANS + shift * SCALES, SCALES, size=(n, 8))
    cats = rng.choice(4, size=(n, 2), p=CAT_SHARES).astype(float)
    for j, share in enumerate(swaps):
        if share:
            zeros = np.flatnonzero(cats[:, j] == 0)
            cats[rng.choice(zeros, size=int(round(share * n)), replace=False), j] = 3.0
    return np.column_stack([numbers, cats])


def lines_of(rows: np.ndarray, rng, start: int = 0) -> list[str]:
    """Request-log lines as ml/prediction_log.py writes them (one prediction per request)."""
    score = 1 / (1 + np.exp(-(rows[:, 1] - 3.0) * 2))
    predict = (rng.random(len(rows)) < score).astype(int).tolist()
    out = []
    for i, (row, p, s) in enumerate(zip(rows.tolist(), predict, score.tolist())):
        out.append(json.dumps({"id": f"{start + i:032x}", "ts": "2026-12-01T12:00:00.000Z", "model": "sensor-failure",
                               "version": "1.0.7", "request_id": f"r{start + i}", "inputs": [row],
                               "outputs": {"predict": [p], "predict_proba": [[1 - s, s]]}}))  # fmt: skip
    return out


def write_data(root: Path, n_ref: int, n_log: int, days: int) -> tuple[Path, list[Path]]:
    rng = np.random.default_rng(2026)
    ref = sample(rng, n_ref)
    labels = (rng.random(n_ref) < 1 / (1 + np.exp(-(ref[:, 1] - 3.0) * 2))).astype(int)
    csv_path = root / "train.csv"
    with open(csv_path, "w") as out:
        out.write(",".join(FEATURES + ["failure"]) + "\n")
        for row, label in zip(ref.tolist(), labels.tolist()):
            out.write(",".join(map(repr, row)) + f",{label}\n")
    paths, per_day = [], n_log // days
    for day in range(days):  # the second half of the days: num1 drifts by 0.5 sigma
        rows = sample(rng, per_day, mean_shift=(0.0, 0.5 if day >= days // 2 else 0.0))
        path = root / f"2026-12-{day + 1:02d}.jsonl"
        path.write_text("\n".join(lines_of(rows, rng, day * per_day)) + "\n")
        paths.append(path)
    return csv_path, paths


# ---- the two implementations, each run in its own process -----------------------------------
def streamed(csv_path: str, paths: list[str]) -> dict:
    drift = load_drift()
    reference = drift.Reference.from_csv(Path(csv_path).read_bytes(), features=FEATURES, target="failure")
    result = drift.drift(reference, drift.file_lines(paths))
    features = {n: {k: f[k] for k in ("method", "statistic", "drift", "current_rows")} | {"error_bound": f.get("error_bound", 0.0)}
                for n, f in result["features"].items()}  # fmt: skip
    return {"features": features, "rows": result["rows"]["read"], "dataset_drift": result["dataset_drift"],
            "predict": result["predictions"]["predict"]["statistic"]}  # fmt: skip


def with_pandas(csv_path: str, paths: list[str]) -> dict:
    """The plain way: everything in DataFrames, Evidently's default tests with scipy."""
    import pandas as pd
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    ref = pd.read_csv(csv_path)
    log_frame = pd.concat([pd.read_json(p, lines=True) for p in paths], ignore_index=True)
    cur = pd.DataFrame([row for batch in log_frame["inputs"] for row in batch], columns=FEATURES)
    predicted = pd.Series([p for batch in log_frame["outputs"] for p in batch["predict"]])

    def js(r: pd.Series, c: pd.Series) -> float:  # Evidently's get_binned_data (categorical) + jensenshannon
        keys = sorted(set(r.unique()) | set(c.unique()))
        shares = []
        for s in (r, c):
            counts = s.value_counts()
            share = np.array([counts.get(k, 0) / len(s) for k in keys])
            low = share[share > 0].min()
            share[share == 0] = low / 1e6 if low <= 1e-4 else 1e-4
            shares.append(share)
        return float(jensenshannon(*shares))

    features = {}
    for name in FEATURES:
        r, c = ref[name], cur[name]
        if pd.concat([r, c]).nunique() > 5:
            score = stats.wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)
            features[name] = {"method": "wasserstein", "statistic": score, "drift": bool(score >= 0.1)}
        else:
            score = js(r, c)
            features[name] = {"method": "jensenshannon", "statistic": score, "drift": bool(score >= 0.1)}
        features[name]["current_rows"] = len(c)
    drifted = sum(f["drift"] for f in features.values())
    return {"features": features, "rows": len(cur), "dataset_drift": drifted / len(features) >= 0.5,
            "predict": js(ref["failure"].astype(float), predicted.astype(float))}  # fmt: skip


def worker(kind: str, csv_path: str, paths: list[str]) -> None:
    started = time.perf_counter()
    result = (streamed if kind == "streamed" else with_pandas)(csv_path, paths)
    print(json.dumps({"seconds": time.perf_counter() - started, **result}))


def run_worker(kind: str, csv_path: Path, paths: list[Path]) -> tuple[dict, float]:
    """(the worker's result, its peak RSS in MiB) — RSS of that child alone, from os.wait4."""
    cmd = [sys.executable, __file__, "--worker", kind, str(csv_path), *map(str, paths)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"the {kind} worker failed ({proc.returncode}): {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024  # KiB on Linux


def check_agreement(mine: dict, theirs: dict) -> None:
    if mine["rows"] != theirs["rows"]:
        raise SystemExit(f"rows differ: {mine['rows']} vs {theirs['rows']}")
    for name in FEATURES:
        a, b = mine["features"][name], theirs["features"][name]
        slack = a["error_bound"] + 1e-9 if a["method"] == "wasserstein" else 1e-9 * max(1.0, abs(b["statistic"]))
        if a["method"] != b["method"] or a["drift"] != b["drift"] or abs(a["statistic"] - b["statistic"]) > slack:
            raise SystemExit(f"{name}: streamed {a} vs pandas {b}")
    if abs(mine["predict"] - theirs["predict"]) > 1e-9:
        raise SystemExit(f"predicted classes: streamed {mine['predict']} vs pandas {theirs['predict']}")


# ---- detection power ------------------------------------------------------------------------
def power(drift, csv_path: Path, sizes: tuple[int, ...], repetitions: int) -> tuple[dict, float, float]:
    reference = drift.Reference.from_csv(csv_path.read_bytes(), features=FEATURES, target="failure")
    rng = np.random.default_rng(7)
    hits = {shift: {n: 0 for n in sizes} for shift in SHIFTS}
    alarms = trials = dataset_alarms = dataset_trials = 0
    for n in sizes:
        for _ in range(repetitions):
            shifted = sample(rng, n, mean_shift=(0.2, 0.5), swaps=(0.05, 0.20))
            result = drift.drift(reference, lines_of(shifted, rng))["features"]
            for shift, feature in SHIFTS.items():
                hits[shift][n] += result[feature]["drift"]
            unshifted = [f for f in FEATURES if f not in SHIFTS.values()]
            alarms += sum(result[f]["drift"] for f in unshifted)
            trials += len(unshifted)
            same = drift.drift(reference, lines_of(sample(rng, n), rng))
            alarms += sum(f["drift"] for f in same["features"].values())
            trials += len(FEATURES)
            dataset_alarms += same["dataset_drift"]
            dataset_trials += 1
    table = {shift: {str(n): hits[shift][n] / repetitions for n in sizes} for shift in SHIFTS}
    return table, alarms / trials, dataset_alarms / dataset_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 predictions, 20 repetitions (< 1 minute)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.worker[2:])
        return
    n_ref, n_log, days, reps = (100_000, 100_000, 10, 20) if args.quick else (100_000, 1_000_000, 10, 100)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        csv_path, paths = write_data(Path(tmp), n_ref, n_log, days)
        log(f"data: {n_ref:,} reference rows, {n_log:,} logged predictions in {days} day files ({time.perf_counter() - t0:.1f} s)")
        mine, mine_rss = run_worker("streamed", csv_path, paths)
        theirs, theirs_rss = run_worker("pandas", csv_path, paths)
        check_agreement(mine, theirs)
        half = days // 2
        _, mine_half_rss = run_worker("streamed", csv_path, paths[:half])
        _, theirs_half_rss = run_worker("pandas", csv_path, paths[:half])
        drift = load_drift()
        t0 = time.perf_counter()
        table, false_alarms, dataset_false_alarms = power(drift, csv_path, (1_000, 10_000), reps)
        power_seconds = time.perf_counter() - t0
    for name, result, rss, rss_half in (("streamed (drift.py)", mine, mine_rss, mine_half_rss),
                                        ("pandas + scipy", theirs, theirs_rss, theirs_half_rss)):  # fmt: skip
        print(f"{name:>20}: {result['seconds']:7.2f} s, peak RSS {rss:7.1f} MiB ({half} days: {rss_half:7.1f} MiB)")
    for shift, row in table.items():
        print(f"{'power ' + shift:>30}: " + ", ".join(f"{n} rows {v:.2f}" for n, v in row.items()))
    print(f"{'false alarms':>30}: per feature {false_alarms:.3f}, data set {dataset_false_alarms:.3f} ({power_seconds:.1f} s)")
    summary = {
        "benchmark": "monitoring.drift",
        "quick": bool(args.quick),
        "reference_rows": n_ref,
        "logged_predictions": n_log,
        "days": days,
        "features": len(FEATURES),
        "streamed_seconds": round(mine["seconds"], 2),
        "pandas_seconds": round(theirs["seconds"], 2),
        "time_ratio": round(mine["seconds"] / theirs["seconds"], 3),
        "peak_rss_mib": round(mine_rss, 1),
        "pandas_peak_rss_mib": round(theirs_rss, 1),
        "rss_ratio": round(mine_rss / theirs_rss, 3),
        "rss_growth_per_day_mib": round((mine_rss - mine_half_rss) / (days - half), 2),
        "pandas_rss_growth_per_day_mib": round((theirs_rss - theirs_half_rss) / (days - half), 2),
        "drifted_features": [n for n, f in mine["features"].items() if f["drift"]],
        "repetitions": reps,
        "power": table,
        "false_alarm_rate": round(false_alarms, 4),
        "dataset_false_alarm_rate": round(dataset_false_alarms, 4),
    }
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
