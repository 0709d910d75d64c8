"""The drift statistics of the ML template (ml/drift.py) on known distributions, against scipy.

The streamed statistics are checked against scipy on the same data held whole: K-S exactly
(statistic and p-value, exact and asymptotic regimes, ties), Wasserstein within the bound the
module reports, chi-squared / Jensen-Shannon on the same counts, the Z-test against Pearson's
chi-squared of the 2x2 table (the same test: z^2 = chi^2 without continuity correction).
"""

from __future__ import annotations

import importlib.util
import json
import math
import tracemalloc

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

pytestmark = pytest.mark.monitoring

_spec = importlib.util.spec_from_file_location("template_ml_drift", TEMPLATE_DIR / "ml" / "drift.py")
drift = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drift)


def log_lines(rows, predict=None, proba=None, per_line=1):
    """Request-log lines as the model server writes them (ml/prediction_log.py, _line)."""
    rows = np.asarray(rows).tolist()
    for start in range(0, len(rows), per_line):
        part = rows[start : start + per_line]
        outputs = {}
        if predict is not None:
            outputs["predict"] = list(predict[start : start + per_line])
        if proba is not None:
            outputs["predict_proba"] = [[1 - p, p] for p in proba[start : start + per_line]]
        yield json.dumps({"id": f"{start:032x}", "ts": "2026-12-01T00:00:00.000Z", "model": "m", "version": "1.0.1",
                          "request_id": None, "inputs": part, "outputs": outputs})  # fmt: skip


def one_feature(reference, current, **kw):
    result = drift.drift(drift.Reference({"x": reference}), log_lines(np.asarray(current)[:, None]), **kw)
    return result["features"]["x"]


@pytest.mark.parametrize(
    "n1,n2,decimals",
    [(30, 40, 1), (200, 1000, 1), (500, 500, 2), (1000, 10_000, 1), (1000, 10_001, 2), (700, 50_000, None)],
)
def test_ks_matches_scipy_exactly(n1, n2, decimals):
    rng = np.random.default_rng(n1 + n2)
    ref, cur = rng.normal(size=n1), rng.normal(0.05, 1.1, size=n2)
    if decimals is not None:  # ties within and across the samples
        ref, cur = np.round(ref, decimals), np.round(cur, decimals)
    got = one_feature(ref, cur, chunk_lines=997)
    want = stats.ks_2samp(ref, cur)
    assert got["method"] == "ks"
    assert got["statistic"] == float(want.statistic)
    assert got["p_value"] == float(want.pvalue)
    assert got["drift"] == (want.pvalue < 0.05)
    assert got["current_rows"] == n2


def test_ks_statistic_from_counts_equals_scipy_in_both_regimes():
    rng = np.random.default_rng(3)
    ref = np.round(rng.normal(size=400), 1)
    for n2 in (300, 25_000):
        cur = np.round(rng.normal(0.2, 1, size=n2), 1)
        acc = drift.Numerical(ref, "ks")
        for part in np.array_split(cur, 7):
            acc.add(part)
        d, p = acc.ks()
        want = stats.ks_2samp(ref, cur)
        assert (d, p) == (float(want.statistic), float(want.pvalue))


@pytest.mark.parametrize("shift,scale,decimals", [(0.0, 1.0, None), (0.3, 1.2, None), (-1.0, 0.5, None), (0.2, 1.1, 1)])
def test_wasserstein_within_its_bound_of_scipy(shift, scale, decimals):
    rng = np.random.default_rng(11)
    ref, cur = rng.normal(size=20_000), rng.normal(shift, scale, size=60_000)
    if decimals is not None:  # ties: current values on reference values
        ref, cur = np.round(ref, decimals), np.round(cur, decimals)
    got = one_feature(ref, cur, chunk_lines=20_000)
    want = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert got["method"] == "wasserstein"
    assert abs(got["statistic"] - want) <= got["error_bound"] + 1e-9
    assert got["error_bound"] < 1e-3  # the crossing cells are few and narrow


def test_wasserstein_exact_when_the_samples_do_not_cross():
    rng = np.random.default_rng(5)
    ref = rng.normal(size=5000)
    cur = ref.max() + rng.exponential(size=3000)  # all of current above all of the reference
    got = one_feature(ref, cur)
    assert got["error_bound"] == 0
    assert got["statistic"] == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref), rel=1e-12)
    assert got["drift"]


def test_chisquare_on_the_same_counts_as_scipy():
    rng = np.random.default_rng(2)
    ref = rng.choice([1.0, 2.0, 3.0, 4.0], size=600, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice([1.0, 2.0, 3.0, 4.0], size=900, p=[0.3, 0.3, 0.2, 0.2])
    got = one_feature(ref, cur)
    ref_counts = np.array([(ref == v).sum() for v in (1, 2, 3, 4)])
    cur_counts = np.array([(cur == v).sum() for v in (1, 2, 3, 4)])
    want = stats.chisquare(cur_counts, ref_counts * len(cur) / len(ref))  # Evidently's chi_stat_test
    assert got["method"] == "chisquare"
    assert got["statistic"] == pytest.approx(want.statistic, rel=1e-12)
    assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-9)
    assert got["drift"] and got["other"] == 0


def test_chisquare_value_never_seen_in_the_reference_is_drift():
    got = one_feature(np.repeat([1.0, 2.0, 3.0], 100), [1.0] * 50 + [7.0])
    assert got["other"] == 1 and got["p_value"] == 0 and got["drift"]


def test_z_test_is_pearson_chi2_of_the_two_by_two_table():
    rng = np.random.default_rng(8)
    ref, cur = (rng.random(800) < 0.3).astype(float), (rng.random(1500) < 0.36).astype(float)
    got = one_feature(ref, cur)
    table = [[(ref == 1).sum(), (ref == 0).sum()], [(cur == 1).sum(), (cur == 0).sum()]]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert got["method"] == "z"
    assert got["statistic"] ** 2 == pytest.approx(chi2.statistic, rel=1e-9)
    assert got["p_value"] == pytest.approx(chi2.pvalue, rel=1e-6)


def test_jensen_shannon_on_the_same_shares_as_scipy():
    rng = np.random.default_rng(4)
    cats = np.array(["a", "b", "c"])
    ref = rng.choice(cats, size=3000, p=[0.5, 0.3, 0.2])
    cur = np.concatenate([rng.choice(cats, size=2000, p=[0.2, 0.3, 0.5]), ["zz"] * 10])
    result = drift.drift(drift.Reference({"kind": ref}), log_lines(cur[:, None]))
    got = result["features"]["kind"]
    ref_share = np.array([(ref == c).mean() for c in cats] + [0.0001])  # Evidently fills empty shares
    cur_share = np.array([(cur == c).mean() for c in cats] + [10 / len(cur)])
    assert got["method"] == "jensenshannon" and got["other"] == 10
    assert got["statistic"] == pytest.approx(jensenshannon(ref_share, cur_share), rel=1e-12)
    assert got["drift"]


@pytest.mark.parametrize("n_ref", [800, 5000])
def test_half_sigma_shift_detected_same_distribution_not(n_ref):
    rng = np.random.default_rng(n_ref)
    ref = rng.normal(size=(n_ref, 4))
    reference = drift.Reference({f"f{i}": ref[:, i] for i in range(4)})
    same = drift.drift(reference, log_lines(rng.normal(size=(5000, 4)), per_line=5))
    assert not same["dataset_drift"] and same["drifted_features"] == 0
    shifted = rng.normal(size=(5000, 4)) + [0.5, 0.5, 0.5, 0.0]
    moved = drift.drift(reference, log_lines(shifted, per_line=5))
    assert moved["dataset_drift"] and moved["drift_kind"] == "data"
    assert [moved["features"][f"f{i}"]["drift"] for i in range(4)] == [True, True, True, False]
    assert moved["drift_share"] == 0.75 and moved["rows"]["read"] == 5000


def test_bad_lines_are_counted_and_skipped():
    rng = np.random.default_rng(1)
    reference = drift.Reference({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    good = list(log_lines(rng.normal(size=(300, 2))))
    bad = ["", "not json", "[1, 2]", '{"no": "inputs"}', '{"inputs": "text"}', '{"inputs": [[1.0, 2.0, 3.0]]}',
           '{"inputs": [[1.0], [2.0, 3.0]]}', '{"inputs": [[null, 1.0], ["x", 2.0]]}', b"\xff\xfe"]  # fmt: skip
    lines = [line.encode() if isinstance(line, str) else line for line in good[:150] + bad + good[150:]]
    result = drift.drift(reference, lines, chunk_lines=64)
    assert result["rows"] == {"lines": 309, "read": 303, "skipped": {"malformed": 6, "width": 2}}
    assert result["features"]["a"]["missing"] == 2 and result["features"]["b"]["missing"] == 0
    assert result["features"]["a"]["current_rows"] == 301 and result["features"]["b"]["current_rows"] == 303
    assert result["schema"]["wrong_widths"] == {"3": 1, "1": 1}
    assert not result["schema"]["changed"] and not result["dataset_drift"]
    json.dumps(result, allow_nan=False)


def test_only_the_key_inputs_is_read_whatever_the_other_fields_hold():
    rng = np.random.default_rng(13)
    reference = drift.Reference({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    tricky = {"id": "0" * 32, "request_id": 'x", "inputs": [[99, 99]], "y": "', "inputs": [[0.5, -0.5]],
              "outputs": {"predict": [1], "predict_proba": [[0.25, 0.75]]}}  # fmt: skip
    compact = json.dumps(tricky, separators=(",", ":"))
    for lines in ([json.dumps(tricky)] * 3, [compact] * 3, [compact.encode()] * 3):
        result = drift.drift(reference, lines)
        assert result["rows"]["read"] == 3 and result["predictions"]["proba_mean"] == 0.75
        for name, value in (("a", 0.5), ("b", -0.5)):  # the real inputs, not the ones in request_id
            want = stats.ks_2samp(reference.columns[name], [value] * 3)
            assert result["features"][name]["statistic"] == float(want.statistic)
        assert drift.drift(reference, lines + ["{broken"])["rows"]["skipped"]["malformed"] == 1
    acc = drift.Numerical(reference.columns["a"], "ks")
    acc.add(np.array([0.5, 0.5, 0.5]))
    assert acc.ks() == tuple(float(v) for v in stats.ks_2samp(reference.columns["a"], [0.5] * 3)[:2])
    days = {"1": b"\n".join(x.encode() for x in [json.dumps(tricky)] * 2), "2": None, "3": b""}
    assert len(list(drift.day_lines(["1", "2", "3"], days.get))) == 2


def test_text_categories_and_odd_values_never_crash():
    rng = np.random.default_rng(14)
    reference = drift.Reference({"a": rng.normal(size=50), "c": np.array(["x", "y", "z"] * 10 + ["x"] * 20)},
                                predict=np.array([0.0, 1.0] * 25))  # fmt: skip
    lines = [json.dumps({"inputs": [[0.1, "x"], [0.2, "w"], [None, None], [[1], "y"]],
                         "outputs": {"predict": [[1], "a", 0, None], "predict_proba": [0.1, 0.2, 0.3, 0.4]}}),
             json.dumps({"inputs": [[1.0, "z"]], "outputs": {"predict": [1], "predict_proba": [[0.1, 0.9]]}})]  # fmt: skip
    result = drift.drift(reference, lines)
    json.dumps(result, allow_nan=False)
    a, c = result["features"]["a"], result["features"]["c"]
    assert (a["current_rows"], a["missing"], c["current_rows"], c["missing"], c["other"]) == (3, 2, 4, 1, 1)
    assert c["method"] == "chisquare" and c["p_value"] == 0 and c["statistic"] is None and c["drift"]
    predictions = result["predictions"]
    assert predictions["class_shares"] == {"0": 0.2, "1": 0.2, "None": 0.2, "[1]": 0.2, "a": 0.2}
    assert predictions["proba_mean"] == 0.9 and predictions["predict"]["other"] == 3


def test_schema_change_and_no_data():
    rng = np.random.default_rng(6)
    reference = drift.Reference({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    wider = drift.drift(reference, log_lines(rng.normal(size=(100, 3))))
    assert wider["dataset_drift"] and wider["drift_kind"] == "schema_changed" and wider["schema"]["changed"]
    assert wider["rows"]["skipped"]["width"] == 100 and wider["schema"]["wrong_widths"] == {"3": 100}
    renamed = drift.drift(reference, log_lines(rng.normal(size=(10, 2))), feature_names=["a", "c"])
    assert renamed["drift_kind"] == "schema_changed" and renamed["schema"]["current_features"] == ["a", "c"]
    same_names = drift.drift(reference, log_lines(rng.normal(size=(10, 2))), feature_names=["a", "b"])
    assert not same_names["schema"]["changed"] and same_names["rows"]["read"] == 10
    for empty in ([], ["", "{}"]):
        none = drift.drift(reference, empty)
        assert none["no_data"] and not none["dataset_drift"] and none["drift_kind"] is None and not none["features"]


def test_chunk_boundaries_do_not_change_the_result():
    rng = np.random.default_rng(9)
    reference = drift.Reference({"a": rng.normal(size=3000), "k": rng.integers(0, 4, 3000).astype(float)},
                                predict=rng.integers(0, 2, 3000), proba=rng.random(3000))  # fmt: skip
    rows = np.column_stack([rng.normal(0.3, 1, 2000), rng.integers(0, 5, 2000)])
    predict, proba = rng.integers(0, 2, 2000).tolist(), rng.random(2000).tolist()
    lines = list(log_lines(rows, predict, proba, per_line=3))
    results = [drift.drift(reference, lines, chunk_lines=n) for n in (1, 7, 250, 100_000)]
    for other in results[1:]:  # counts equal; float sums (of values, of probabilities) to rounding
        assert _same(other, results[0])
    assert results[0]["features"]["a"]["drift"] and results[0]["features"]["a"]["current_rows"] == 2000
    assert results[0]["features"]["k"]["other"] == (rows[:, 1] == 4).sum()


def _same(got, want) -> bool:
    """Nested dicts equal, floats to 1e-12 (relative), everything else exactly."""
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want))
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15)
    return type(got) is type(want) and got == want


def test_prediction_distribution_shift():
    rng = np.random.default_rng(12)
    labels, scores = (rng.random(4000) < 0.2).astype(int), rng.beta(2, 8, 4000)
    reference = drift.Reference({"a": rng.normal(size=4000)}, predict=labels.astype(float), proba=scores)
    cur_labels, cur_scores = (rng.random(3000) < 0.5).astype(int), rng.beta(5, 5, 3000)
    result = drift.drift(reference, log_lines(rng.normal(size=(3000, 1)), cur_labels.tolist(), cur_scores.tolist()))
    predictions = result["predictions"]
    assert predictions["current_rows"] == 3000
    assert predictions["class_shares"]["1"] == pytest.approx(cur_labels.mean())
    assert predictions["proba_mean"] == pytest.approx(cur_scores.mean())
    assert sum(predictions["proba_histogram"]) == 3000
    assert predictions["predict"]["method"] == "jensenshannon" and predictions["predict"]["drift"]
    assert predictions["proba"]["method"] == "wasserstein" and predictions["proba"]["drift"]
    assert not result["features"]["a"]["drift"]


def test_reference_from_csv():
    content = b"temperature_c,vibration_mm_s,failure\n" + b"".join(
        f"{20 + i % 17},{i % 3},{i % 2}\n".encode() for i in range(50)
    )
    reference = drift.Reference.from_csv(content, target="failure")
    assert list(reference.columns) == ["temperature_c", "vibration_mm_s"]
    assert reference.columns["temperature_c"][3] == 23.0 and set(reference.predict) == {0.0, 1.0}
    assert drift.method_for(reference.columns["temperature_c"]) == "ks"
    assert drift.method_for(reference.columns["vibration_mm_s"]) == "chisquare"
    integers = drift.Reference({"count": np.arange(2000) % 50, "flag": np.arange(2000) % 2 == 0})
    assert [f.method for f in integers.accumulators()[0]] == ["wasserstein", "jensenshannon"]
    with pytest.raises(ValueError, match="pressure"):
        drift.Reference.from_csv(content, features=["temperature_c", "pressure"])


def _peak_streaming(days: int) -> tuple[int, dict]:
    rng_seed, per_day = 21, 1500
    reference = drift.Reference({f"f{i}": np.random.default_rng(0).normal(size=3000) for i in range(4)})

    def read(day: str) -> bytes:  # one day's object, made when asked (as s3io.read_bytes returns it)
        rng = np.random.default_rng(rng_seed + int(day))
        return "\n".join(log_lines(rng.normal(size=(per_day, 4)), [0] * per_day, rng.random(per_day))).encode()

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = drift.drift(reference, drift.day_lines((str(d) for d in range(days)), read), chunk_lines=500)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_memory_flat_in_the_number_of_days():
    peak_n, small = _peak_streaming(2)
    peak_4n, large = _peak_streaming(8)
    assert small["rows"]["read"] == 3000 and large["rows"]["read"] == 12_000
    assert peak_4n <= peak_n * 1.10, (peak_n, peak_4n)  # 4x the lines, no more memory
    assert math.isclose(sum(large["predictions"]["proba_histogram"]), 12_000)
