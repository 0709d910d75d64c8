"""User-facing text of the cost page and the budget guard: one table per language.

Every table has the same keys (tested).  :func:`pick_language` chooses from an ``Accept-Language``
header (quality values honoured); English is the fallback.
"""

from __future__ import annotations

from hybridhub.hub_ext.language import negotiate

EN = {
    "title": "Cost of the platform",
    "month": "Month {start} – {end}, as of {now}",
    "mtd": "Month to date",
    "projection": "Projection for the month",
    "budget": "Budget",
    "level_ok": "Within budget",
    "level_warning": "Warning: the projection is {percent} % of the budget",
    "level_over": "Over budget: the projection is {percent} % of the budget",
    "terms": "Terms of the model (C = ΣC_np + C_lb + N·C_ip + e)",
    "term": "Term",
    "item": "Item",
    "amount": "Amount ({currency})",
    "pools": "Node pools",
    "pool": "Pool",
    "vm_size": "VM size",
    "price": "Price per node-hour",
    "node_hours": "Node-hours",
    "nodes_up": "Nodes up",
    "cost": "Cost",
    "idle_cost": "of which idle",
    "histogram": "Hours at each node count (T_n), per pool",
    "daily": "Daily node cost by pool",
    "date": "Date",
    "total": "Total",
    "by_profile": "By profile",
    "by_user": "By user",
    "profile": "Profile",
    "user": "User",
    "idle": "(idle node time)",
    "servers": "Servers running now",
    "server": "Server",
    "node": "Node",
    "since": "Since",
    "none": "None.",
    "downloads": "Download",
    "csv": "CSV",
    "json": "JSON",
    "kind_load_balancer": "load balancer",
    "kind_public_ips": "public IP",
    "kind_other": "other (e)",
    "forbidden": "The cost page is for administrators.",
    "guard_refused": ("The {profile} profile is paused for the rest of the month: the month's projected cost "
                      "{projected} {currency} exceeds the budget of {budget} {currency}. "
                      "Choose a CPU profile, or ask an administrator."),
    "guard_no_data": "The {profile} profile cannot start: the cost figures are not available ({reason}).",
}

JA = {
    "title": "プラットフォームのコスト",
    "month": "{start} – {end} の月（{now} 時点）",
    "mtd": "今月の累計",
    "projection": "今月の見込み",
    "budget": "予算",
    "level_ok": "予算内です",
    "level_warning": "注意：見込みは予算の {percent} % です",
    "level_over": "予算超過：見込みは予算の {percent} % です",
    "terms": "モデルの各項（C = ΣC_np + C_lb + N·C_ip + e）",
    "term": "項",
    "item": "内容",
    "amount": "金額（{currency}）",
    "pools": "ノードプール",
    "pool": "プール",
    "vm_size": "VM サイズ",
    "price": "ノード時間あたりの価格",
    "node_hours": "ノード時間",
    "nodes_up": "稼働ノード数",
    "cost": "コスト",
    "idle_cost": "うちアイドル",
    "histogram": "ノード数ごとの時間（T_n）、プール別",
    "daily": "日別のノードコスト（プール別）",
    "date": "日付",
    "total": "合計",
    "by_profile": "プロファイル別",
    "by_user": "ユーザー別",
    "profile": "プロファイル",
    "user": "ユーザー",
    "idle": "（アイドルのノード時間）",
    "servers": "稼働中のサーバー",
    "server": "サーバー",
    "node": "ノード",
    "since": "開始",
    "none": "ありません。",
    "downloads": "ダウンロード",
    "csv": "CSV",
    "json": "JSON",
    "kind_load_balancer": "ロードバランサー",
    "kind_public_ips": "パブリック IP",
    "kind_other": "その他（e）",
    "forbidden": "コストのページは管理者専用です。",
    "guard_refused": ("今月の残りの期間、プロファイル {profile} は停止中です。今月の見込みコスト "
                      "{projected} {currency} が予算 {budget} {currency} を超えています。"
                      "CPU のプロファイルを選ぶか、管理者に相談してください。"),
    "guard_no_data": "プロファイル {profile} を起動できません。コストの数値を取得できません（{reason}）。",
}

MESSAGES = {"en": EN, "ja": JA}


def pick_language(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (``ja-JP,ja;q=0.9,en;q=0.8``)."""
    return negotiate(accept_language, tuple(MESSAGES))


def text(language: str, key: str, **values) -> str:
    table = MESSAGES.get(language, EN)
    return table.get(key, EN[key]).format(**values)
