"""Alert -> GitLab issue -> retraining, without a retraining storm (the monitor job's second step).

``python ml/retrain.py --report monitoring-report.json`` after ``ml/monitor.py``:

* status ``ok`` / ``no_data``: one line, nothing else.
* status ``alert``: the open issue of the model (label ``model-monitoring``, title
  "Model <name>: monitoring alert") gets a note with the report's summary, or is created with it
  as its description: never a second open issue for one model. Closing the issue ends the episode;
  the next alert opens a new one.
* a local run (HYBRIDHUB_LOCAL_RUN=true, the local backend's store known): the same decisions, the
  record a file of that store and the start a ``retrain-request.json`` the backend acts on
  (ml/retrain_local.py).
* ``RETRAIN_ON_ALERT=true``: the training pipeline is started on the default branch with the newest
  data (``DATA_VERSION=""``, ``TEST_DATA_VERSION=""``, ``RETRAIN_FOR=<version>``,
  ``RETRAIN_ISSUE=<iid>``, ``MONITOR=false``) unless one of these holds, checked in this order:
  ``retrain_running``  the last retrain recorded on the issue is still running: its pipeline's status
                       is not finished (success, failed, canceled, skipped). Only "still running":
                       a finished retrain whose version waits for promotion is covered by the cool-down;
  ``cooldown``         the last retrain started less than RETRAIN_COOLDOWN_HOURS (24) ago;
  ``budget_over``      the cost service (``HYBRIDHUB_COST_URL``/api/summary, ``Authorization: token
                       HYBRIDHUB_COST_TOKEN``) says the month's projection is over budget: no GPU run;
  ``budget_unknown``   the cost service is set but unreachable or refuses: no retrain (fail safe).
  HYBRIDHUB_COST_URL unset: no budget check, and the decision note says so.
  Every decision is a note on the issue, and the issue is the record: a decision note ends with
  ``<!-- hybridhub-retrain: {"decision": "started"|"skipped", "reason": …, "pipeline_id": …,
  "started_at": …} -->``; the last "started" one written by this token's user is the retrain state
  (no file on the runner). Only this user's notes count, so nobody can stop retraining by pasting a
  marker; a rotated token (a new bot user) starts afresh: at most one retrain sooner than the
  cool-down. GitLab refusing the pipeline (a Reporter token, a protected branch) is a
  ``pipeline_refused`` note and exit 1.

GitLab: CI_API_V4_URL, CI_PROJECT_ID, CI_DEFAULT_BRANCH (predefined), the token MONITOR_GITLAB_TOKEN
or else MLFLOW_TRACKING_TOKEN (a project access token, Developer, api scope; never printed). Neither
GitLab nor the local backend's store: the alert stays in the report, one line says so. A 401/403 on the issue ends
the job (exit 1) with one line naming what was refused. Notes in MONITOR_LANG (en|ja).
Stdlib only (urllib), like s3io.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import types
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrain_local  # noqa: E402

LABEL = "model-monitoring"
TITLE = "Model {model}: monitoring alert"
MARK = "hybridhub-retrain"
_MARKER = re.compile(r"<!-- " + MARK + r": (\{.*?\}) -->")
FINISHED = {"success", "failed", "canceled", "skipped"}  # GitLab's finished pipeline statuses
TIMEOUT = 30

# the reason codes of this script, each with its English and Japanese text (MONITOR_LANG)
TEXT = {
    "started": {
        "en": "Retraining started: pipeline [#{pipeline_id}]({web_url}) on `{ref}` with the newest data "
              "(RETRAIN_FOR={version}).",
        "ja": "再学習を開始しました: パイプライン [#{pipeline_id}]({web_url})（`{ref}`、最新のデータ、"
              "RETRAIN_FOR={version}）。"},
    "requested": {
        "en": "Retraining requested: when this job ends, the local backend starts the training pipeline on the "
              "default branch with the newest data (RETRAIN_FOR={version}).",
        "ja": "再学習を依頼しました: このジョブの終了後、ローカルバックエンドが既定のブランチで最新のデータによる"
              "学習パイプラインを開始します（RETRAIN_FOR={version}）。"},
    "retrain_running": {
        "en": "Retraining skipped (`retrain_running`): the retrain of pipeline #{pipeline_id} is still {status}.",
        "ja": "再学習を見送りました（`retrain_running`）: パイプライン #{pipeline_id} の再学習がまだ終わっていません"
              "（{status}）。"},
    "cooldown": {
        "en": "Retraining skipped (`cooldown`): the last retrain started {hours_ago} h ago, less than "
              "RETRAIN_COOLDOWN_HOURS={hours}; the next one may start after {until}.",
        "ja": "再学習を見送りました（`cooldown`）: 前回の再学習は {hours_ago} 時間前に始まりました"
              "（RETRAIN_COOLDOWN_HOURS={hours} 未満）。次は {until} 以降に開始できます。"},
    "budget_over": {
        "en": "Retraining skipped (`budget_over`): the cost service projects {projected} {currency} this month, "
              "over the budget of {budget} {currency}; no GPU training run starts.",
        "ja": "再学習を見送りました（`budget_over`）: 今月の予測コスト {projected} {currency} が予算 {budget} "
              "{currency} を超えています。GPU での学習は開始しません。"},
    "budget_unknown": {
        "en": "Retraining skipped (`budget_unknown`): the budget could not be checked ({why}); no retrain "
              "starts until it can be.",
        "ja": "再学習を見送りました（`budget_unknown`）: 予算を確認できませんでした（{why}）。確認できるまで"
              "再学習は開始しません。"},
    "pipeline_refused": {
        "en": "Retraining not started (`pipeline_refused`): GitLab refused the pipeline ({why}). The token "
              "needs the Developer role and the right to run pipelines on `{ref}`.",
        "ja": "再学習を開始できませんでした（`pipeline_refused`）: GitLab がパイプラインを拒否しました（{why}）。"
              "トークンには Developer ロールと `{ref}` でパイプラインを実行する権限が必要です。"},
    "no_budget_check": {
        "en": "No budget check: HYBRIDHUB_COST_URL is not set.",
        "ja": "予算の確認なし: HYBRIDHUB_COST_URL が設定されていません。"},
    "budget_ok": {
        "en": "Budget checked: level {level}, projected {projected} {currency} of {budget} {currency}.",
        "ja": "予算を確認しました: {level}（予測 {projected} {currency} / 予算 {budget} {currency}）。"},
    "retrain_off": {
        "en": "Automatic retraining is off (RETRAIN_ON_ALERT is not `true`).",
        "ja": "自動の再学習は無効です（RETRAIN_ON_ALERT が `true` ではありません）。"},
}
HEAD = {"en": ("Monitoring alert", "status", "alerts", "drift share", "drifted features", "accuracy",
               "requests", "window", "report"),
        "ja": ("監視アラート", "状態", "アラート", "ドリフト率", "ドリフトした特徴量", "精度", "リクエスト数",
               "期間", "レポート")}  # fmt: skip


class Stop(Exception):
    """The job cannot do its work: one line, exit 1."""


def say(key: str, lang: str, **values) -> str:
    return TEXT[key][lang if lang in ("en", "ja") else "en"].format(**values)


def marker(data: dict) -> str:
    return f"<!-- {MARK}: {json.dumps(data, sort_keys=True)} -->"


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---- the report's summary in Markdown --------------------------------------------------------
def report_uris(report: dict, log_uri: str) -> dict:
    """Where ml/monitor.py stored this report: its ``reports`` folder (``…/monitoring/``), else the
    contract's layout under PREDICTION_LOG_URI; {} when neither is known."""
    day = (report.get("window") or {}).get("to")
    folder = report.get("reports") or (
        f"{log_uri.rstrip('/')}/{report.get('model')}/{report.get('version')}/monitoring/" if log_uri else "")
    if not folder or not day:
        return {}
    return {"json": f"{folder}{day}.json", "html": f"{folder}{day}.html"}


def _num(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def summary(report: dict, uris: dict, lang: str) -> str:
    h = dict(zip(("title", "status", "alerts", "share", "drifted", "accuracy", "requests", "window", "report"),
                 HEAD["ja" if lang == "ja" else "en"]))  # fmt: skip
    drift = report.get("drift") or {}
    window = report.get("window") or {}
    drifted = [(name, f.get("statistic")) for name, f in (drift.get("features") or {}).items() if f.get("drift")]
    features = sorted(drifted, key=lambda kv: -(kv[1] or 0))[:5]
    accuracy = (report.get("accuracy") or {}).get("accuracy")
    requests = sum(int(d.get("requests") or 0) for d in report.get("daily") or [])
    alerts = ", ".join(f"{a.get('kind')} {_num(a.get('value'))}"
                       + (f" (threshold {_num(a['threshold'])})" if a.get("threshold") is not None else "")
                       for a in report.get("alerts") or [])  # fmt: skip
    share = drift.get("drift_share")
    lines = [
        f"### {h['title']}: {report.get('model')} {report.get('version')} ({report.get('generated_at', '')})",
        "",
        f"- {h['status']}: **{report.get('status')}**",
        f"- {h['alerts']}: {alerts or '-'}",
        f"- {h['share']}: {'-' if share is None else f'{share:.2f}'}"
        f" ({drift.get('drifted_features', 0)} / {len(drift.get('features') or {})})",
        f"- {h['drifted']}: " + (", ".join(f"`{n}` {s:.3f}" if s is not None else f"`{n}`"
                                           for n, s in features) or "-"),  # fmt: skip
        f"- {h['accuracy']}: {'-' if accuracy is None else f'{accuracy:.3f}'}",
        f"- {h['requests']}: {requests}",
        f"- {h['window']}: {window.get('from', '?')} .. {window.get('to', '?')} ({window.get('days', '?')} d)",
    ]
    if uris:
        lines.append(f"- {h['report']}: `{uris['html']}` (HTML), `{uris['json']}` (JSON)")
    return "\n".join(lines)


# ---- GitLab's REST API -------------------------------------------------------------------------
class GitLab:
    def __init__(self, api: str, project: str, token: str) -> None:
        self.api, self.project, self._token = api.rstrip("/"), urllib.parse.quote(str(project), safe=""), token

    def call(self, method: str, path: str, query: dict | None = None, body: dict | None = None, refusal_stops=True):
        """(status, JSON) of a call; 401 (and 403 when ``refusal_stops``) -> Stop naming the call."""
        url = f"{self.api}/projects/{self.project}{path}" if not path.startswith("/user") else self.api + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"PRIVATE-TOKEN": self._token})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read() or b"null")
            except ValueError:
                detail = None
            if exc.code == 401 or (exc.code == 403 and refusal_stops):
                raise Stop(f"GitLab refused {method} {path} ({exc.code}: {_message(detail)}): the token (MONITOR_GITLAB_"
                           "TOKEN or MLFLOW_TRACKING_TOKEN) needs the api scope and a role in the project") from None
            return exc.code, detail
        except (urllib.error.URLError, OSError) as exc:
            raise Stop(f"GitLab at {self.api} unreachable: {getattr(exc, 'reason', exc)}") from None

    def ok(self, method: str, path: str, query: dict | None = None, body: dict | None = None):
        status, data = self.call(method, path, query, body)
        if status >= 300:
            raise Stop(f"GitLab answered {status} to {method} {path}: {_message(data)}")
        return data

    def pages(self, path: str, query: dict) -> list:
        items, page = [], 1
        while True:
            chunk = self.ok("GET", path, {**query, "per_page": 100, "page": page})
            items += chunk
            if len(chunk) < 100:
                return items
            page += 1


def _message(data) -> str:
    if isinstance(data, dict):
        value = data.get("message", data.get("error", ""))
        return json.dumps(value) if not isinstance(value, str) else value
    return ""


def open_issue(gitlab: GitLab, model: str) -> dict | None:
    title = TITLE.format(model=model)
    found = gitlab.pages("/issues", {"labels": LABEL, "state": "opened", "search": title})
    mine = [i for i in found if i.get("title") == title]
    return min(mine, key=lambda i: i["iid"]) if mine else None


def last_started(gitlab: GitLab, iid: int, user_id: int) -> dict | None:
    """The last retrain this user recorded on the issue (its decision note's marker)."""
    notes = gitlab.pages(f"/issues/{iid}/notes", {"sort": "asc", "order_by": "created_at"})
    found = None
    for note in notes:
        if (note.get("author") or {}).get("id") != user_id:
            continue
        for match in _MARKER.finditer(note.get("body") or ""):
            data = json.loads(match.group(1))
            if data.get("decision") == "started":
                found = data
    return found


# ---- the budget ----------------------------------------------------------------------------------
def budget(env: dict) -> tuple[str, dict]:
    """("unchecked" | "ok" | "over" | "unknown", values for the note)."""
    url = (env.get("HYBRIDHUB_COST_URL") or "").strip()
    if not url:
        return "unchecked", {}
    request = urllib.request.Request(url.rstrip("/") + "/api/summary",
                                     headers={"Authorization": f"token {env.get('HYBRIDHUB_COST_TOKEN', '')}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            data = json.loads(answer.read())
        level, amount = data["budget"]["level"], data["budget"]["amount"]
        values = {"level": level, "budget": amount, "projected": data["projection"]["total"],
                  "currency": data.get("currency", "")}  # fmt: skip
    except urllib.error.HTTPError as exc:
        return "unknown", {"why": f"the cost service answered {exc.code}"}
    except (urllib.error.URLError, OSError) as exc:
        return "unknown", {"why": f"the cost service is unreachable: {getattr(exc, 'reason', exc)}"}
    except (ValueError, KeyError, TypeError):
        return "unknown", {"why": "the cost service's answer has no budget level"}
    return ("over" if level == "over" else "ok"), values


# ---- the decision ----------------------------------------------------------------------------------
def _note(text: str, record: dict, *more: str) -> str:
    return "\n\n".join([text, *more, marker(record)])


def decide(gitlab: GitLab, env: dict, report: dict, issue: dict, user_id: int, now: float) -> tuple[str, int]:
    """The decision note's text and the exit code; starts the pipeline when nothing stands in the way."""
    lang = env.get("MONITOR_LANG", "en")
    last = last_started(gitlab, issue["iid"], user_id)
    record = {"decision": "skipped", "at": iso(now), "version": report.get("version")}
    if last and last.get("pipeline_id"):
        status, pipeline = gitlab.call("GET", f"/pipelines/{int(last['pipeline_id'])}")
        state = pipeline.get("status") if status == 200 and isinstance(pipeline, dict) else None  # gone: finished
        if state and state not in FINISHED:
            record["reason"] = "retrain_running"
            return _note(say("retrain_running", lang, pipeline_id=last["pipeline_id"], status=state), record), 0
    hours = float(env.get("RETRAIN_COOLDOWN_HOURS") or 24)
    if last and last.get("started_at_epoch") is not None and now - float(last["started_at_epoch"]) < hours * 3600:
        record["reason"] = "cooldown"
        ago = (now - float(last["started_at_epoch"])) / 3600
        until = iso(float(last["started_at_epoch"]) + hours * 3600)
        return _note(say("cooldown", lang, hours_ago=f"{ago:.1f}", hours=f"{hours:g}", until=until), record), 0
    level, values = budget(env)
    if level in ("over", "unknown"):
        record["reason"] = f"budget_{level}"
        return _note(say(record["reason"], lang, **values), record), 0
    checked = say("no_budget_check", lang) if level == "unchecked" else say("budget_ok", lang, **values)
    ref = env.get("CI_DEFAULT_BRANCH") or "main"
    # MONITOR=false: a pipeline variable outranks a project one, so this pipeline trains even where
    # MONITOR=true was set for the whole project instead of on the schedule
    variables = {"DATA_VERSION": "", "TEST_DATA_VERSION": "", "RETRAIN_FOR": str(report.get("version", "")),
                 "RETRAIN_ISSUE": str(issue["iid"]), "MONITOR": "false"}  # fmt: skip
    status, pipeline = gitlab.call("POST", "/pipeline", body={
        "ref": ref, "variables": [{"key": k, "value": v} for k, v in variables.items()]}, refusal_stops=False)
    if status != 201:
        record["reason"] = "pipeline_refused"
        why = f"{status}: {_message(pipeline)}"
        return _note(say("pipeline_refused", lang, why=why, ref=ref), record, checked), 1
    record.update(decision="started", pipeline_id=pipeline["id"], started_at=iso(now), started_at_epoch=now,
                  web_url=pipeline.get("web_url"))  # fmt: skip
    text = say("started", lang, pipeline_id=pipeline["id"], web_url=pipeline.get("web_url"), ref=ref,
               version=variables["RETRAIN_FOR"])  # fmt: skip
    return _note(text, record, checked), 0


def handle_alert(env: dict, report: dict, now: float) -> int:
    lang = env.get("MONITOR_LANG", "en")
    api, project = env.get("CI_API_V4_URL", ""), env.get("CI_PROJECT_ID", "")
    folder = retrain_local.pipelines_dir(env) if env.get("HYBRIDHUB_LOCAL_RUN") == "true" else None
    if folder is not None:  # the local backend's run: the record is a file of its store (ml/retrain_local.py)
        try:
            text, code = retrain_local.decide(folder, env, report, now, _HELPERS, Path.cwd())
        except (OSError, ValueError) as exc:
            raise Stop(f"cannot record the alert in the local pipelines' store {folder}: {exc}") from None
        print(f"retrain: alert recorded in {retrain_local.record_path(folder, report['model'])}")
        print("retrain: " + text)
        return code
    if env.get("HYBRIDHUB_LOCAL_RUN") == "true" or not api or not project:
        print("retrain: no GitLab API here (CI_API_V4_URL / CI_PROJECT_ID unset, or a local run): "
              "the alert is in the report only, no issue, no retrain")  # fmt: skip
        return 0
    token = env.get("MONITOR_GITLAB_TOKEN") or env.get("MLFLOW_TRACKING_TOKEN") or ""
    if not token:
        raise Stop("no GitLab token: set MONITOR_GITLAB_TOKEN (or MLFLOW_TRACKING_TOKEN), a project access token "
                   "with the api scope, as a masked CI/CD variable")  # fmt: skip
    gitlab = GitLab(api, project, token)
    user_id = gitlab.ok("GET", "/user")["id"]
    text = summary(report, report_uris(report, env.get("PREDICTION_LOG_URI", "")), lang)
    retrain = env.get("RETRAIN_ON_ALERT", "false").lower() == "true"
    if not retrain:
        text += "\n\n" + say("retrain_off", lang)
    issue = open_issue(gitlab, report["model"])
    if issue is None:
        issue = gitlab.ok("POST", "/issues", body={"title": TITLE.format(model=report["model"]), "labels": LABEL,
                                                  "description": text})  # fmt: skip
        print(f"retrain: opened issue #{issue['iid']} {issue.get('web_url', '')}")
    else:
        gitlab.ok("POST", f"/issues/{issue['iid']}/notes", body={"body": text})
        print(f"retrain: alert added to the open issue #{issue['iid']} {issue.get('web_url', '')}")
    if not retrain:
        print("retrain: RETRAIN_ON_ALERT is not true: issue only")
        return 0
    note, code = decide(gitlab, env, report, issue, user_id, now)
    gitlab.ok("POST", f"/issues/{issue['iid']}/notes", body={"body": note})
    print("retrain: " + note.split("\n", 1)[0])
    return code


_HELPERS = types.SimpleNamespace(say=say, iso=iso, report_uris=report_uris, budget=budget)  # for retrain_local


def main(argv: list[str] | None = None, env: dict | None = None, now: float | None = None) -> int:
    """``env`` and ``now`` default to the process's environment and clock (tests pass their own)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--report", default="monitoring-report.json", help="the report ml/monitor.py wrote")
    args = parser.parse_args(argv)
    env = dict(os.environ) if env is None else env
    try:
        try:
            with open(args.report, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError) as exc:
            raise Stop(f"cannot read the monitoring report {args.report}: {exc}") from None
        status = report.get("status")
        if status != "alert":
            print(f"retrain: monitoring status {status}: no issue, no retrain")
            return 0
        return handle_alert(env, report, time.time() if now is None else now)
    except Stop as stop:
        print(f"retrain: {stop}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
