"""The warm-up's reason codes in English and Japanese (one table per language, same keys)."""

from __future__ import annotations

EN = {
    "likely_start": "Likely start: {users} started near this time on most recent working days.",
    "no_history": "No warm-up: no GPU start has been recorded yet.",
    "not_a_working_day": "No warm-up: not a working day.",
    "no_working_day": "No warm-up: the site calendar has no working day in the coming year.",
    "no_likely_starts": "No warm-up: no one starts a GPU notebook at a regular time.",
    "max_warm_nodes": "Shares a warm node: the pool's limit of warm nodes is reached.",
    "budget_over": "Not warmed: the month's projected cost is already over the budget.",
    "budget_would_exceed": "Not warmed: this warm-up would take the month's projection over the budget.",
    "no_price": "Not warmed: the pool has no price in the cost model.",
    "already_here": "Not warmed: everyone it was for already has a server.",
    "warm_on_intent": "Warming a GPU node while you fill in the form.",
    "not_gpu": "No warm-up: the profile has no GPU.",
    "unknown_profile": "No warm-up: unknown profile.",
    "rate_limited": "No warm-up: a node was warmed for you a moment ago.",
    "warmup_starting": "No warm-up yet: the warm-up is starting; try again in a moment.",
    "used": "Used: a user's server took the warm node.",
    "wasted": "Wasted: no one came before the window ended; the node was released.",
    "never_joined": "Removed: the warm node never joined; users' starts proceeded as from zero.",
    "budget_stop": "Stopped: the month's projected cost went over the budget; warm nodes were released.",
}

JA = {
    "likely_start": "開始の見込み: {users} は最近の稼働日の多くでこの時刻ごろに開始しています。",
    "no_history": "ウォームアップなし: GPU の開始記録がまだありません。",
    "not_a_working_day": "ウォームアップなし: 稼働日ではありません。",
    "no_working_day": "ウォームアップなし: 今後 1 年間、サイトのカレンダーに稼働日がありません。",
    "no_likely_starts": "ウォームアップなし: 決まった時刻に GPU ノートブックを開始する人がいません。",
    "max_warm_nodes": "準備済みノードを共有: プールのウォームノード数の上限に達しています。",
    "budget_over": "ウォームアップせず: 今月の予測コストがすでに予算を超えています。",
    "budget_would_exceed": "ウォームアップせず: このウォームアップで今月の予測が予算を超えます。",
    "no_price": "ウォームアップせず: コストモデルにこのプールの価格がありません。",
    "already_here": "ウォームアップせず: 対象の全員がすでにサーバーを起動しています。",
    "warm_on_intent": "フォームの入力中に GPU ノードを準備しています。",
    "not_gpu": "ウォームアップなし: このプロファイルには GPU がありません。",
    "unknown_profile": "ウォームアップなし: 不明なプロファイルです。",
    "rate_limited": "ウォームアップなし: 少し前にノードを準備したばかりです。",
    "warmup_starting": "まだウォームアップできません: ウォームアップの開始処理中です。少し待ってからお試しください。",
    "used": "利用済み: ユーザーのサーバーが準備済みノードを使いました。",
    "wasted": "未使用: 時間枠の終わりまで誰も来なかったため、ノードを解放しました。",
    "never_joined": "削除: 準備したノードが参加しませんでした。ユーザーの起動は通常どおりゼロから進みます。",
    "budget_stop": "停止: 今月の予測コストが予算を超えたため、準備済みノードを解放しました。",
}

TABLES = {"en": EN, "ja": JA}


def text(code: str, language: str = "en", **values) -> str:
    table = TABLES.get(language.split("-")[0].lower(), EN)
    return table.get(code, code).format(**values)
