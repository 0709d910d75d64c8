"""The monitoring report for people: one self-contained HTML page (inline CSS and SVG, no script,
no external asset), English or Japanese (``MONITOR_LANG``).

Every value from the report is escaped: feature names, values and classes come from the request
log, which anyone who can call the model writes.
"""

from __future__ import annotations

from html import escape

TEXT = {
    "en": {
        "title": "Monitoring report", "model": "Model", "window": "Window", "status": "Status",
        "ok": "OK", "alert": "Alert", "no_data": "No data", "reference": "Reference (training data)",
        "rows": "rows", "version": "version", "alerts": "Alerts", "none": "None",
        "data_drift": "Data drift", "schema_changed": "Schema changed", "accuracy": "Accuracy",
        "value": "value", "threshold": "threshold", "days": "Days", "date": "Date", "requests": "Requests",
        "drift_share": "Drift share", "labelled": "Labelled", "features": "Features (whole window)",
        "feature": "Feature", "method": "Test", "statistic": "Statistic", "p_value": "p-value", "drift": "Drift",
        "yes": "yes", "no": "no", "estimate": "Prediction shift (before labels)", "problems": "Problems",
        "missing": "Days without a log", "generated": "Generated", "schema_reason": "Schema",
        "chart": "Drift share by day", "classes": "Predicted classes (shares)",
    },
    "ja": {
        "title": "モニタリングレポート", "model": "モデル", "window": "期間", "status": "状態",
        "ok": "正常", "alert": "アラート", "no_data": "データなし", "reference": "基準（学習データ）",
        "rows": "行", "version": "バージョン", "alerts": "アラート", "none": "なし",
        "data_drift": "データドリフト", "schema_changed": "スキーマ変更", "accuracy": "精度",
        "value": "値", "threshold": "しきい値", "days": "日別", "date": "日付", "requests": "リクエスト数",
        "drift_share": "ドリフト率", "labelled": "ラベル数", "features": "特徴量（期間全体）",
        "feature": "特徴量", "method": "検定", "statistic": "統計量", "p_value": "p値", "drift": "ドリフト",
        "yes": "あり", "no": "なし", "estimate": "予測分布の変化（ラベル到着前）", "problems": "問題",
        "missing": "ログのない日", "generated": "作成日時", "schema_reason": "スキーマ",
        "chart": "日別ドリフト率", "classes": "予測クラス（割合）",
    },
}  # fmt: skip
PROBLEMS = {
    "en": {"malformed_lines": "malformed or empty log lines skipped", "wrong_width_rows": "rows of the wrong width skipped",
           "reference_unversioned": "the reference has no object version (ETag and size only)",
           "reference_changed": "the reference changed since training (ETag differs)",
           "labels_missing": "the labels file does not exist", "malformed_labels": "malformed label lines skipped",
           "labels_multi_row": "labels of requests with several rows not scored"},
    "ja": {"malformed_lines": "不正または空のログ行（スキップ）", "wrong_width_rows": "列数の異なる行（スキップ）",
           "reference_unversioned": "基準データにオブジェクトバージョンがありません（ETag とサイズのみ）",
           "reference_changed": "学習後に基準データが変更されました（ETag が異なる）",
           "labels_missing": "ラベルファイルがありません", "malformed_labels": "不正なラベル行（スキップ）",
           "labels_multi_row": "複数行リクエストのラベル（評価対象外）"},
}  # fmt: skip
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}.alert{color:#b00020;font-weight:bold}
.ok{color:#1b5e20;font-weight:bold}.no_data{color:#666;font-weight:bold}svg{background:#fafafa;border:1px solid #ddd}"""


def _n(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def render(report: dict, lang: str = "en") -> str:
    t = TEXT.get(lang, TEXT["en"])
    problems = PROBLEMS.get(lang, PROBLEMS["en"])
    e = escape
    ref, window, status = report["reference"], report["window"], report["status"]
    parts = [f'<!DOCTYPE html><html lang="{e(lang if lang in TEXT else "en")}"><head><meta charset="utf-8">',
             f"<title>{e(t['title'])}: {e(report['model'])} {e(report['version'])}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(t['title'])}</h1><table>",
             f"<tr><th>{t['model']}</th><td>{e(report['model'])} {e(report['version'])}</td></tr>",
             f"<tr><th>{t['window']}</th><td>{e(window['from'])} – {e(window['to'])} ({len(window['read'])}/{window['days']})</td></tr>",
             f'<tr><th>{t["status"]}</th><td class="{e(status)}">{e(t.get(status, status))}</td></tr>',
             f"<tr><th>{t['reference']}</th><td>{e(ref['uri'])} {t['version']} {e(ref['version_id'] or '–')}, {ref['rows']} {t['rows']}</td></tr>",
             f"<tr><th>{t['generated']}</th><td>{e(report['generated_at'])}</td></tr></table>"]  # fmt: skip
    parts.append(f"<h2>{t['alerts']}</h2>")
    if report["alerts"]:
        parts.append(f"<table><tr><th></th><th>{t['value']}</th><th>{t['threshold']}</th></tr>")
        parts += [f'<tr><td class="alert">{e(t.get(a["kind"], a["kind"]))}</td><td>{_n(a["value"])}</td><td>{_n(a["threshold"])}</td></tr>'
                  for a in report["alerts"]]  # fmt: skip
        parts.append("</table>")
    else:
        parts.append(f"<p>{t['none']}</p>")
    schema = report["drift"].get("schema") or {}
    if schema.get("changed"):
        parts.append(f"<p><b>{t['schema_reason']}</b>: {e(str(schema.get('reason', '')))}</p>")
    parts.append(_chart(report["daily"], t))
    parts.append(_daily(report["daily"], t))
    parts.append(_features(report["drift"].get("features") or {}, t))
    estimate = report.get("estimate") or {}
    parts.append(f"<h2>{t['estimate']}</h2><p>Jensen-Shannon: {_n(estimate.get('prediction_shift'))} "
                 f"({t['drift']}: {t['yes'] if estimate.get('drift') else t['no']})</p>")  # fmt: skip
    shares = (report["drift"].get("predictions") or {}).get("class_shares") or {}
    if shares:  # the classes the model answered, as logged
        parts.append(f"<p>{t['classes']}: " + ", ".join(f"{e(str(k))} {_n(v)}" for k, v in shares.items()) + "</p>")
    accuracy = report.get("accuracy")
    if accuracy:
        parts.append(f"<h2>{t['accuracy']}</h2><p>{_n(accuracy['accuracy'])} ({t['labelled']}: {accuracy['labelled']})</p>")
    if report["problems"] or window["missing"]:
        parts.append(f"<h2>{t['problems']}</h2><ul>")
        parts += [f"<li>{e(problems.get(p['code'], p['code']))}: {_n(p.get('count'))}</li>" for p in report["problems"]]
        if window["missing"]:
            parts.append(f"<li>{t['missing']}: {e(', '.join(window['missing']))}</li>")
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _daily(daily: list[dict], t: dict) -> str:
    rows = [f"<h2>{t['days']}</h2><table><tr><th>{t['date']}</th><th>{t['requests']}</th><th>{t['drift_share']}</th>"
            f"<th>{t['accuracy']}</th><th>{t['labelled']}</th></tr>"]  # fmt: skip
    rows += [f"<tr><td>{escape(d['date'])}</td><td>{d['requests']}</td><td>{_n(d['drift_share'], 2)}</td>"
             f"<td>{_n(d['accuracy'])}</td><td>{d['labelled']}</td></tr>" for d in daily]  # fmt: skip
    return "".join(rows) + "</table>"


def _features(features: dict, t: dict) -> str:
    rows = [f"<h2>{t['features']}</h2><table><tr><th>{t['feature']}</th><th>{t['method']}</th><th>{t['statistic']}</th>"
            f"<th>{t['p_value']}</th><th>{t['threshold']}</th><th>{t['drift']}</th></tr>"]  # fmt: skip
    for name, f in features.items():
        drifted = f'<span class="alert">{t["yes"]}</span>' if f.get("drift") else t["no"]
        rows.append(f"<tr><td>{escape(str(name))}</td><td>{escape(str(f.get('method')))}</td><td>{_n(f.get('statistic'))}</td>"
                    f"<td>{_n(f.get('p_value'))}</td><td>{_n(f.get('threshold'))}</td><td>{drifted}</td></tr>")  # fmt: skip
    return "".join(rows) + "</table>"


def _chart(daily: list[dict], t: dict) -> str:
    """Bars of the drift share per day (0..1), inline SVG."""
    if not daily:
        return ""
    width, height, bar = 40 * len(daily) + 20, 140, 28
    bars = []
    for i, d in enumerate(daily):
        share = d["drift_share"] or 0.0
        h = round(share * 100)
        bars.append(f'<rect x="{10 + 40 * i}" y="{110 - h}" width="{bar}" height="{h}" fill="#c62828">'
                    f"<title>{escape(d['date'])}: {_n(d['drift_share'], 2)}</title></rect>"
                    f'<text x="{10 + 40 * i}" y="128" font-size="9">{escape(d["date"][5:])}</text>')  # fmt: skip
    return (f"<h2>{t['chart']}</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\">"
            f'<line x1="0" y1="110" x2="{width}" y2="110" stroke="#999"/>{"".join(bars)}</svg>')  # fmt: skip
