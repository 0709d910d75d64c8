"""Data drift of the served model: the request log (current) against the training data (reference).

Statistics: Evidently's defaults (https://docs.evidentlyai.com, "Data drift" preset; its v0.1.50
release note "Automatic Stattest Selection"; ``_get_default_stattest`` in
evidently/calculations/stattests/registry.py), computed with scipy, not Evidently itself: Evidently
wants both samples as pandas frames in memory, and the log of a busy model does not fit. Per feature:

- reference <= 1000 rows: numerical (> 5 distinct values) -> two-sample Kolmogorov-Smirnov, drift
  when p < 0.05; otherwise chi-squared goodness of fit of the current counts against the
  reference shares, p < 0.05 (2 values or fewer: Z-test of the two proportions);
- reference > 1000 rows: numerical -> Wasserstein distance / std(reference) >= 0.1; otherwise
  Jensen-Shannon distance (scipy's, natural log; empty categories filled as Evidently does) >= 0.1;
- the data set drifts when the share of drifted features >= 0.5.

Chosen because these are the defaults people know and check against, and because above ~1000
rows p-values of K-S flag differences too small to matter (the distances do not grow with n).
One deviation: the test is chosen from the reference alone (Evidently counts distinct values of
reference + current together), since it must be known before the log is streamed; current values
a categorical reference never had count as "other" (chi-squared: p = 0, they cannot come from it).

Memory is flat in the number of days read: the current sample is never held. Lines are parsed in
chunks (``CHUNK_LINES``) into numpy and folded into counts per feature over the sorted distinct
reference values u_0 < ... < u_k-1: current values equal to each u_j, and count and sum of those
strictly between neighbours (and in both tails). That gives:

- K-S exactly: between two reference values F_ref is constant and F_cur monotone, so the
  supremum is reached at u_j or just below it, both known from the counts. The p-value is
  scipy's: ``ks_2samp`` (exact below 10,000 rows on either side) on the reference and a sample
  rebuilt from the counts with the same ECDF at every point scipy looks at (<= 10,000 values), or
  Smirnov's asymptotic ``kstwo.sf(d, round(n*m/(n+m)))`` as ks_2samp uses above that;
- Wasserstein = integral of |F_ref - F_cur|: exact in every cell where F_cur stays on one side of
  F_ref (the cell's integral of F_cur follows from its count and sum); in the few cells where they
  cross, the midpoint of the exact bounds, whose half-width is reported (``error_bound``);
- categorical: counts per reference category plus "other".

Bad input never crashes the job: blank or malformed lines and rows of the wrong width are counted
and skipped; non-numeric or missing values count as missing for their feature. Every row of the
wrong width (or feature names that differ) is a drift of its own kind: ``schema_changed``.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections import Counter
from itertools import chain
from typing import Callable, Iterable, Iterator

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

CHUNK_LINES = 10_000
SMALL_REFERENCE = 1000  # Evidently: <= 1000 reference rows -> tests with p-values, above -> distances
CATEGORICAL_MAX_VALUES = 5
P_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
DRIFT_SHARE = 0.5
SCIPY_EXACT_KS_MAX_N = 10_000  # scipy.stats.ks_2samp: MAX_AUTO_N, method="auto" is exact up to it


class Reference:
    """The training data: one array per feature, in the model's feature order, and optionally
    the reference of the predictions (``predict`` classes, positive-class ``proba``)."""

    def __init__(self, columns: dict[str, np.ndarray], predict=None, proba=None):
        self.columns = {name: _floats_if_numbers(values) for name, values in columns.items()}
        self.predict = None if predict is None else _floats_if_numbers(predict)
        self.proba = None if proba is None else np.asarray(proba, dtype=float)
        self._accumulators = None

    def accumulators(self) -> tuple[list, Categorical | None, Numerical | Categorical | None]:
        """Empty accumulators of the features, predicted classes and probabilities (the reference
        is sorted and counted on the first call only)."""
        if self._accumulators is None:
            self._accumulators = (
                [_accumulator(values) for values in self.columns.values()],
                None if self.predict is None else _classes(self.predict),
                None if self.proba is None else _accumulator(self.proba),
            )
        features, predict, proba = self._accumulators
        return [f.fresh() for f in features], predict and predict.fresh(), proba and proba.fresh()

    @classmethod
    def from_csv(cls, content: bytes, features: list[str] | None = None, target: str | None = None) -> Reference:
        """The training CSV; ``features`` (default: every column but ``target``) in model order.
        With ``target``, its labels are the reference of the predicted classes."""
        header = next(csv.reader([content.split(b"\n", 1)[0].decode("utf-8-sig")]), None)
        if not header:
            raise ValueError("the reference CSV is empty")
        names = features or [h for h in header if h != target]
        missing = [n for n in names + ([target] if target else []) if n not in header]
        if missing:
            raise ValueError(f"the reference CSV has no column(s) {', '.join(missing)}")
        columns_at = [header.index(n) for n in names + ([target] if target else [])]
        try:  # all numbers: numpy's C parser
            numbers = np.loadtxt(io.BytesIO(content), delimiter=",", skiprows=1, ndmin=2, usecols=columns_at)  # bytes: no text copy
            values = dict(zip(names + ([target] if target else []), numbers.T))
            if len(numbers):
                return cls({n: values[n] for n in names}, predict=values.get(target) if target else None)
        except ValueError:
            pass
        rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
        next(rows)
        raw = np.array([row for row in rows if row], dtype=str)
        if raw.size == 0:
            raise ValueError("the reference CSV has no rows")
        columns = {name: _numeric_or_text(raw[:, header.index(name)]) for name in names}
        labels = _numeric_or_text(raw[:, header.index(target)]) if target else None
        return cls(columns, predict=labels)


def _floats_if_numbers(values) -> np.ndarray:
    """Integers and booleans as floats: numbers are compared as floats, whatever their type."""
    values = np.asarray(values)
    return values.astype(float) if values.dtype.kind in "biu" else values


def _numeric_or_text(values: np.ndarray) -> np.ndarray:
    try:
        return values.astype(float)
    except ValueError:
        return values


def method_for(reference: np.ndarray) -> str:
    """Evidently's default test for a feature, decided on the reference (see the module doc)."""
    n_values = len(np.unique(reference))
    numerical = reference.dtype.kind == "f" and n_values > CATEGORICAL_MAX_VALUES
    if len(reference) <= SMALL_REFERENCE:
        return "ks" if numerical else ("chisquare" if n_values > 2 else "z")
    return "wasserstein" if numerical else "jensenshannon"


class Numerical:
    """Counts of current values against the sorted distinct reference values (K-S, Wasserstein)."""

    def __init__(self, reference: np.ndarray, method: str):
        ref = np.sort(reference[np.isfinite(reference)])
        self.method, self.reference = method, ref
        first = np.concatenate(([True], ref[1:] != ref[:-1]))  # distinct values of the sorted reference
        self.u = ref[first]
        self.ref_le = np.append(np.flatnonzero(first)[1:], len(ref))  # reference values <= u_j
        self.reset()

    def reset(self) -> None:
        k = len(self.u)
        self.equal = np.zeros(k, np.int64)
        self.between = np.zeros(k + 1, np.int64)  # gap j: u_{j-1} < x < u_j (gap 0 and k: tails)
        self.between_sum = np.zeros(k + 1)
        self.n = 0

    def fresh(self) -> Numerical:
        """An empty accumulator over the same reference (which is sorted once)."""
        new = copy.copy(self)
        new.reset()
        return new

    def add(self, x: np.ndarray) -> None:
        k = len(self.u)
        idx = np.searchsorted(self.u, x, side="left")
        hit = idx < k
        hit[hit] = self.u[idx[hit]] == x[hit]
        self.equal += np.bincount(idx[hit], minlength=k)
        gap = idx[~hit]
        self.between += np.bincount(gap, minlength=k + 1)
        if self.method == "wasserstein":
            self.between_sum += np.bincount(gap, weights=x[~hit], minlength=k + 1)
        self.n += len(x)

    def _cur_le(self) -> tuple[np.ndarray, np.ndarray]:
        """Current values < u_j and <= u_j."""
        below = np.cumsum(self.between[:-1]) + np.concatenate(([0], np.cumsum(self.equal)[:-1]))
        return below, below + self.equal

    def ks(self) -> tuple[float, float]:
        n1, n2 = len(self.reference), self.n
        below, le = self._cur_le()
        ref_below = np.concatenate(([0], self.ref_le[:-1]))
        diffs = np.concatenate((self.ref_le / n1 - le / n2, ref_below / n1 - below / n2))
        d = float(max(diffs.max(), np.clip(-diffs.min(), 0, 1)))
        if max(n1, n2) <= SCIPY_EXACT_KS_MAX_N:  # exact: scipy rounds d to a multiple of 1/lcm(n1, n2)
            exact = stats.ks_2samp(self.reference, self._same_ecdf_sample())
            return float(exact.statistic), float(exact.pvalue)
        m, n = sorted([float(n1), float(n2)], reverse=True)
        return d, float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))

    def _same_ecdf_sample(self) -> np.ndarray:
        """A sample with the current ECDF at every reference value and just below each."""
        u = self.u
        inside = np.empty(len(u) + 1)  # a value in each gap: just above its lower end
        inside[0], inside[-1] = np.nextafter(u[0], -np.inf), np.nextafter(u[-1], np.inf)
        inside[1:-1] = np.nextafter(u[:-1], u[1:])
        return np.concatenate((np.repeat(self.u, self.equal), np.repeat(inside, self.between)))

    def wasserstein(self) -> tuple[float, float]:
        """(distance, error bound): integral of |F_ref - F_cur| over the cells of the reference."""
        u, n1, n2 = self.u, len(self.reference), self.n
        below, le = self._cur_le()
        low_tail = (self.between[0] * u[0] - self.between_sum[0]) / n2
        high_tail = (self.between_sum[-1] - self.between[-1] * u[-1]) / n2
        w = np.diff(u)
        c = self.ref_le[:-1] / n1  # F_ref on [u_{j-1}, u_j)
        a, b = le[:-1] / n2, below[1:] / n2  # F_cur at the cell's start, and just before its end
        integral_cur = a * w + (self.between[1:-1] * u[1:] - self.between_sum[1:-1]) / n2
        lower = np.abs(c * w - integral_cur)
        crossing = (a < c) & (c < b)
        slack = np.where(crossing, np.minimum(c - a, b - c) * w, 0.0)
        return float(low_tail + high_tail + (lower + slack).sum()), float(slack.sum())

    def result(self) -> dict:
        if self.method == "ks":
            d, p = self.ks()
            return _verdict("ks", d, p, P_THRESHOLD, p < P_THRESHOLD, self.n)
        distance, bound = self.wasserstein()
        norm = max(float(np.std(self.reference)), 0.001)
        score = distance / norm
        out = _verdict("wasserstein", score, None, DISTANCE_THRESHOLD, score >= DISTANCE_THRESHOLD, self.n)
        return {**out, "error_bound": bound / norm}


class Categorical:
    """Counts per reference category, plus "other" for values the reference never had."""

    def __init__(self, reference: np.ndarray, method: str):
        self.method = method
        self.categories, self.ref_counts = np.unique(reference, return_counts=True)
        self.reset()

    def reset(self) -> None:
        self.counts = np.zeros(len(self.categories) + 1, np.int64)  # the last: "other"
        self.n = 0

    def fresh(self) -> Categorical:
        new = copy.copy(self)
        new.reset()
        return new

    def add(self, values: np.ndarray) -> None:
        k = len(self.categories)
        if self.categories.dtype.kind != "f":
            values = values.astype(str)
        idx = np.searchsorted(self.categories, values)
        known = idx < k
        known[known] = self.categories[idx[known]] == values[known]
        idx[~known] = k
        self.counts += np.bincount(idx, minlength=k + 1)
        self.n += len(values)

    def result(self) -> dict:
        ref, cur, other = self.ref_counts, self.counts[:-1], int(self.counts[-1])
        n1, n2 = int(ref.sum()), self.n
        if self.method == "z":  # Evidently's z_stat_test: the share of the first category
            if len(ref) == 1 and cur[0] == n2:
                stat, p = 0.0, 1.0
            else:
                p1, p2 = 1 - ref[0] / n1, 1 - cur[0] / n2
                pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
                with np.errstate(divide="ignore", invalid="ignore"):
                    stat = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
                p = float(2 * (1 - stats.norm.cdf(abs(stat)))) if np.isfinite(stat) else 1.0
            out = _verdict("z", float(stat), p, P_THRESHOLD, p < P_THRESHOLD, n2)
        elif self.method == "chisquare":
            if other:
                stat, p = float("inf"), 0.0
            else:
                stat, p = (float(v) for v in stats.chisquare(cur, ref * (n2 / n1)))
            out = _verdict("chisquare", stat, p, P_THRESHOLD, p < P_THRESHOLD, n2)
        else:
            seen = self.counts if other else cur  # Evidently: the categories seen on either side
            score = js_distance(np.append(ref, 0)[: len(seen)] / n1, seen / n2)
            out = _verdict("jensenshannon", score, None, DISTANCE_THRESHOLD, score >= DISTANCE_THRESHOLD, n2)
        return {**out, "other": other}


def js_distance(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    """scipy's Jensen-Shannon distance, empty categories filled as Evidently's get_binned_data."""
    ref_share, cur_share = ref_share.astype(float), cur_share.astype(float)
    for share in (ref_share, cur_share):
        smallest = share[share > 0].min()
        share[share == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return float(jensenshannon(ref_share, cur_share))


def _verdict(method, statistic, p_value, threshold, drift, rows) -> dict:
    return {"method": method, "statistic": _json_float(statistic), "p_value": _json_float(p_value),
            "threshold": threshold, "drift": bool(drift), "current_rows": int(rows)}  # fmt: skip


def _json_float(value):
    """A number for JSON; none (null) when there is none or it is not finite."""
    return None if value is None or not np.isfinite(value) else float(value)


def _accumulator(reference: np.ndarray):
    method = method_for(reference)
    return (Numerical if method in ("ks", "wasserstein") else Categorical)(reference, method)


def _classes(reference: np.ndarray) -> Categorical:
    """Predicted classes are categories, however many (the test by the reference's size)."""
    return Categorical(reference, "chisquare" if len(reference) <= SMALL_REFERENCE else "jensenshannon")


def day_lines(days: Iterable[str], read: Callable[[str], bytes | None]) -> Iterator[bytes]:
    """The lines of each day's object in turn (``read(day)``: its bytes, None when there is none):
    one day in memory at a time."""
    for day in days:
        data = read(day)
        if data:
            yield from data.splitlines()


def file_lines(paths: Iterable) -> Iterator[bytes]:
    for path in paths:
        with open(path, "rb") as lines:
            yield from lines


class _Stream:
    """Folds chunks of log lines into the accumulators."""

    def __init__(self, reference: Reference):
        self.names = list(reference.columns)
        self.features, self.predict, self.proba = reference.accumulators()
        self.numeric = all(isinstance(f, Numerical) or f.categories.dtype.kind == "f" for f in self.features)
        self.lines = self.rows = self.malformed = self.wrong_width = 0
        self.missing = np.zeros(len(self.names), np.int64)
        self.widths: Counter = Counter()
        self.classes: Counter = Counter()
        self.proba_hist = np.zeros(10, np.int64)
        self.proba_sum = 0.0

    def feed(self, chunk: list) -> None:
        self.fold(_parse(chunk), len(chunk))

    def fold(self, records: list, lines: int) -> None:
        """Fold the parsed ``records`` of ``lines`` lines (the ones that failed to parse: malformed)."""
        self.lines += lines
        rows, predicted, proba = [], [], []
        for record in records:
            try:
                inputs, outputs = record["inputs"], record.get("outputs") or {}
                if not isinstance(inputs, list) or not all(isinstance(r, list) for r in inputs):
                    raise TypeError
            except (TypeError, KeyError, AttributeError):
                self.malformed += 1
                continue
            rows.extend(inputs)
            labels, probs = outputs.get("predict"), outputs.get("predict_proba")
            if isinstance(labels, list) and len(labels) == len(inputs):
                predicted.extend(labels)
                if isinstance(probs, list) and len(probs) == len(inputs):
                    proba.extend(probs)
        self.malformed += lines - len(records)
        self._fold_inputs(rows)
        self._fold_predictions(predicted, proba)

    def _fold_inputs(self, rows: list) -> None:
        width = len(self.names)
        try:
            if not (self.numeric and all(len(r) == width for r in rows)):
                raise ValueError
            table = np.fromiter(chain.from_iterable(rows), float, len(rows) * width).reshape(-1, width)
        except (ValueError, TypeError):  # other widths, odd values or text categories: row by row
            good = [r for r in rows if len(r) == width]
            self.widths.update(len(r) for r in rows if len(r) != width)
            self.wrong_width += len(rows) - len(good)
            rows, table = good, np.empty((len(good), width), dtype=float if self.numeric else object)
            for i, row in enumerate(good):
                table[i] = [_number(v) if self.numeric else v for v in row]
        if not len(rows):
            return
        self.rows += table.shape[0]
        for j, feature in enumerate(self.features):
            column = table[:, j]
            if column.dtype == object:
                column = _as_column(column, feature)
            ok = np.isfinite(column) if column.dtype.kind == "f" else column != None  # noqa: E711
            self.missing[j] += int((~ok).sum())
            feature.add(column[ok])

    def _fold_predictions(self, predicted: list, proba: list) -> None:
        if predicted:
            try:
                labels = np.array(predicted)
                if labels.ndim != 1 or labels.dtype == object:
                    raise ValueError
                values, counts = np.unique(labels, return_counts=True)
                self.classes.update({str(v): int(c) for v, c in zip(values.tolist(), counts.tolist())})
            except (ValueError, TypeError):  # mixed or nested labels: counted by their text
                labels = np.array([str(p) for p in predicted], dtype=object)
                self.classes.update(labels.tolist())
            if self.predict is not None:
                self.predict.add(_as_column(labels.astype(object), self.predict))
        try:
            positive = np.array(proba, dtype=float)[:, -1] if proba else np.empty(0)
        except (ValueError, IndexError, TypeError):  # odd rows among them: the last of each list
            positive = np.array([_number(p[-1]) if isinstance(p, list) and p else np.nan for p in proba])
        positive = positive[np.isfinite(positive)]
        self.proba_hist += np.histogram(positive, bins=10, range=(0.0, 1.0))[0]
        self.proba_sum += float(positive.sum())
        if self.proba is not None:
            self.proba.add(positive)

    def result(self, feature_names: list[str] | None) -> dict:
        schema = {"reference_features": self.names, "current_features": feature_names, "changed": False,
                  "wrong_widths": {str(w): n for w, n in self.widths.items()}}  # fmt: skip
        rows = {"lines": self.lines, "read": self.rows,
                "skipped": {"malformed": self.malformed, "width": self.wrong_width}}  # fmt: skip
        out = {"dataset_drift": False, "drift_kind": None, "no_data": False, "drift_share": None, "drifted_features": 0,
               "dataset_drift_threshold": DRIFT_SHARE, "features": {}, "predictions": None, "rows": rows, "schema": schema}  # fmt: skip
        if feature_names is not None and list(feature_names) != self.names:
            schema.update(changed=True, reason="the model's feature names differ from the reference's columns")
        elif self.rows == 0 and self.wrong_width:
            schema.update(changed=True, reason=f"no row has the reference's {len(self.names)} features")
        if schema["changed"]:
            return {**out, "dataset_drift": True, "drift_kind": "schema_changed"}
        if self.rows == 0:
            return {**out, "no_data": True}
        features = {}
        for name, feature, missing in zip(self.names, self.features, self.missing):
            features[name] = feature.result() if feature.n else {**_verdict(feature.method, None, None, None, False, 0)}
            features[name]["missing"] = int(missing)
        drifted = sum(f["drift"] for f in features.values())
        share = drifted / len(features)
        out.update(features=features, drifted_features=drifted, drift_share=share, predictions=self._predictions())
        if share >= DRIFT_SHARE:
            out.update(dataset_drift=True, drift_kind="data")
        return out

    def _predictions(self) -> dict:
        total, n_proba = sum(self.classes.values()), int(self.proba_hist.sum())
        return {
            "current_rows": total,
            "class_shares": {k: v / total for k, v in sorted(self.classes.items())} if total else {},
            "proba_mean": self.proba_sum / n_proba if n_proba else None,
            "proba_histogram": self.proba_hist.tolist(),
            "predict": self.predict.result() if self.predict is not None and self.predict.n else None,
            "proba": self.proba.result() if self.proba is not None and self.proba.n else None,
        }


def _parse(chunk: list) -> list:
    """The inputs and outputs of a chunk of lines, as dicts: one json.loads for the whole chunk,
    line by line when that fails (the lines that still fail are left out: malformed).

    Only the tail of a line from its "inputs" key is parsed (the log writes "inputs" and
    "outputs" last; ml/prediction_log.py, _line): the id, time and names before it are not needed,
    and skipping them makes parsing about three times faster. A quote inside a JSON string is
    escaped, so the first unescaped ``"inputs":`` of a line is its key."""
    if not chunk:
        return []
    text = isinstance(chunk[0], str)
    key, brace, comma = ('"inputs":', "{", ",") if text else (b'"inputs":', b"{", b",")
    tails = []
    for line in chunk:
        line = line.strip()
        start = line.find(key) if isinstance(line, type(key)) else -1
        tails.append(brace + line[start:] if start > 0 else line)
    try:
        records = json.loads((("[" if text else b"[") + comma.join(tails) + ("]" if text else b"]")))
        if len(records) == len(tails) and all(isinstance(r, dict) for r in records):
            return records
    except (ValueError, TypeError):
        pass
    records = []
    for tail in tails:
        try:
            record = json.loads(tail) if tail else None
        except (ValueError, TypeError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _as_column(column: np.ndarray, feature) -> np.ndarray:
    if isinstance(feature, Numerical) or feature.categories.dtype.kind == "f":
        return np.array([_number(v) for v in column], dtype=float)
    return np.array([None if v is None else str(v) for v in column], dtype=object)


def drift(reference: Reference, lines: Iterable, feature_names: list[str] | None = None, chunk_lines: int = CHUNK_LINES) -> dict:
    """The drift report (JSON-able) of the log ``lines`` (bytes or str, one record each) against
    ``reference``; ``feature_names``: the served model's, when known (different -> schema change)."""
    stream = _Stream(reference)
    if feature_names is not None and list(feature_names) != stream.names:
        return stream.result(feature_names)
    chunk: list = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= chunk_lines:
            stream.feed(chunk)
            chunk = []
    if chunk:
        stream.feed(chunk)
    return stream.result(feature_names)


def drift_by_day(reference: Reference, days: Iterable[tuple[str, Iterable]], feature_names: list[str] | None = None,
                 chunk_lines: int = CHUNK_LINES) -> tuple[dict, dict[str, dict]]:
    """The report of the whole window and one per day, in one pass over ``days`` ((day, lines)
    pairs, the lines of a day streamed): each chunk is parsed once and folded into both the day's
    accumulators and the window's, so each day is read once and memory stays flat (one day's
    accumulators at a time, beside the window's)."""
    window, per_day = _Stream(reference), {}
    if feature_names is not None and list(feature_names) != window.names:
        return window.result(feature_names), {}
    for day, lines in days:
        stream, chunk = _Stream(reference), []
        for line in chain(lines, [None]):
            if line is not None:
                chunk.append(line)
            if chunk and (line is None or len(chunk) >= chunk_lines):
                records = _parse(chunk)
                stream.fold(records, len(chunk))
                window.fold(records, len(chunk))
                chunk = []
        per_day[day] = stream.result(feature_names)
    return window.result(feature_names), per_day
