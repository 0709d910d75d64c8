"""User-facing spawner messages in English and Japanese.

The hub shows these on the spawn page and in spawn errors; the language comes from the
user's spawn request (the form's ``lang`` field) or ``c.HybridSpawner.language``.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "requesting_node": {
        "en": "Requesting a {kind} node from the {pool} pool — usually about {minutes} min.",
        "ja": "{pool} プールに{kind_ja}ノードを要求しています（通常およそ {minutes} 分）。",
    },
    "waiting_for_node": {
        "en": "Waiting for a {kind} node to join ({elapsed} s of about {eta} s).",
        "ja": "{kind_ja}ノードの参加を待っています（{elapsed} 秒経過、目安 {eta} 秒）。",
    },
    "node_warmed": {
        "en": "A {kind} node was warmed up for you ({node}), so there is no wait for a new node: starting your "
        "server now.",
        "ja": "{kind_ja}ノード（{node}）を事前に起動しておいたので、新しいノードを待つ必要はありません。"
        "サーバーをすぐに起動します。",
    },
    "node_coming": {
        "en": "A {kind} node is already on its way: the warm-up asked for it {ago} ago. Ready in about "
        "{remaining} ({pool} nodes usually take {eta}).",
        "ja": "{kind_ja}ノードはすでに起動中です（ウォームアップが {ago}前に要求しました）。あと約 {remaining}で"
        "準備できます（{pool} プールのノードは通常 {eta}かかります）。",
    },
    "node_coming_late": {
        "en": "A {kind} node is already on its way: the warm-up asked for it {ago} ago and {pool} nodes usually "
        "take {eta}, so it should join any moment now.",
        "ja": "{kind_ja}ノードはすでに起動中です（ウォームアップが {ago}前に要求しました）。{pool} プールの"
        "ノードは通常 {eta}かかるため、まもなく参加するはずです。",
    },
    "scheduling": {
        "en": "Placing your server on a node.",
        "ja": "サーバーをノードに配置しています。",
    },
    "node_ready": {
        "en": "Node {node} is ready; your server is assigned to it.",
        "ja": "ノード {node} の準備ができ、サーバーが割り当てられました。",
    },
    "pulling_image": {
        "en": "Downloading the image {image}{size}.",
        "ja": "イメージ {image}{size} をダウンロードしています。",
    },
    "preparing_server": {
        "en": "Preparing your server: start-up step {step}.",
        "ja": "サーバーの起動を準備しています（ステップ {step}）。",
    },
    "image_ready": {
        "en": "Image ready; starting the container.",
        "ja": "イメージの準備ができました。コンテナを起動しています。",
    },
    "starting_server": {
        "en": "Starting Jupyter in your container.",
        "ja": "コンテナ内で Jupyter を起動しています。",
    },
    "forbidden_profile": {
        "en": "You may not use the profile '{slug}'. Choose one of: {allowed}.",
        "ja": "プロファイル「{slug}」は使用できません。次から選んでください: {allowed}。",
    },
    "cannot_scale": {
        "en": "The {pool} pool cannot add a node for this server: {reason}. Choose another profile, or ask an "
        "administrator to check the profile's pool settings.",
        "ja": "{pool} プールにこのサーバー用のノードを追加できません: {reason}。別のプロファイルを選ぶか、"
        "プロファイルのプール設定を管理者に確認してもらってください。",
    },
    "pool_at_max": {
        "en": "The {pool} pool is at its maximum number of nodes, all in use. Try again later or choose another "
        "profile; an administrator can raise the pool's maximum.",
        "ja": "{pool} プールはノード数の上限に達しており、すべて使用中です。しばらくしてから再試行するか、"
        "別のプロファイルを選んでください。管理者はプールの上限を引き上げられます。",
    },
    "scale_backoff": {
        "en": "The {pool} pool could not add a node: its last scale-up failed, and the autoscaler is waiting "
        "before it tries again. Azure may be out of capacity or quota for this VM size. Choose another profile "
        "or try again in a few minutes.",
        "ja": "{pool} プールにノードを追加できません。前回のスケールアップが失敗したため、オートスケーラーが"
        "再試行を待っています。この VM サイズの Azure の空き容量またはクォータが不足している可能性があります。"
        "別のプロファイルを選ぶか、数分後に再試行してください。",
    },
    "autoscaler_limit": {
        "en": "No {kind} node can be added: the cluster autoscaler's own limit on {resources} is reached (a "
        "setting of the cluster, not the Azure quota). Try again later or choose another profile; an "
        "administrator can raise the limit.",
        "ja": "{kind_ja}ノードを追加できません。クラスターのオートスケーラー自身の{resources}の上限に達しています"
        "（Azure のクォータではなく、クラスターの設定です）。しばらくしてから再試行するか、別のプロファイルを"
        "選んでください。管理者はこの上限を引き上げられます。",
    },
    "node_never_joined": {
        "en": "A node was requested from the {pool} pool {seconds} s ago and has not joined (it usually takes "
        "about {eta} s). Azure may be out of capacity for this VM size; try again later or choose another profile.",
        "ja": "{pool} プールにノードを要求してから {seconds} 秒経ちましたが、まだ参加していません（通常は約 "
        "{eta} 秒）。この VM サイズの Azure の空き容量が不足している可能性があります。しばらくしてから"
        "再試行するか、別のプロファイルを選んでください。",
    },
    "scale_not_ready": {
        "en": "The {pool} pool was not ready for scale-up for {seconds} s, so no node was added. Try again later "
        "or choose another profile; an administrator can check the pool's health.",
        "ja": "{pool} プールが {seconds} 秒間スケールアップできる状態にならず、ノードが追加されませんでした。"
        "しばらくしてから再試行するか、別のプロファイルを選んでください。管理者はプールの状態を確認できます。",
    },
    "image_pull_failed": {
        "en": "The image {image} could not be downloaded ({reason}). Ask an administrator to check the "
        "profile's image name and registry access.",
        "ja": "イメージ {image} をダウンロードできませんでした（{reason}）。プロファイルのイメージ名と"
        "レジストリへのアクセスを管理者に確認してもらってください。",
    },
    "crash_loop": {
        "en": "Your server crashed while starting ({reason}). Check recent changes to your start-up "
        "files, or ask an administrator to look at the pod's logs.",
        "ja": "サーバーが起動中にクラッシュしました（{reason}）。起動用ファイルの最近の変更を確認するか、"
        "管理者に Pod のログを確認してもらってください。",
    },
    "init_image_pull_failed": {
        "en": "The start-up step {step} could not download its image {image} ({reason}). This step belongs to "
        "the cluster's set-up, not to your profile: ask an administrator to check that image and the registry access.",
        "ja": "起動準備のステップ {step} がイメージ {image} をダウンロードできませんでした（{reason}）。"
        "このステップはプロファイルではなくクラスター側の設定です。このイメージとレジストリへのアクセスを"
        "管理者に確認してもらってください。",
    },
    "init_crash_loop": {
        "en": "The start-up step {step} keeps failing ({reason}), so your server cannot start. This step belongs "
        "to the cluster's set-up, not to your files: ask an administrator to look at the logs of {step}.",
        "ja": "起動準備のステップ {step} が失敗を繰り返しているため（{reason}）、サーバーを起動できません。"
        "このステップはお使いのファイルではなくクラスター側の設定です。{step} のログを管理者に確認して"
        "もらってください。",
    },
    "phase_deadline": {
        "en": "Your server did not get past '{phase}' within {seconds} s. Try again, or ask an administrator.",
        "ja": "サーバーが {seconds} 秒以内に「{phase}」の段階を終えられませんでした。再試行するか管理者に相談してください。",
    },
}

KIND_JA = {"GPU": "GPU ", "CPU": "CPU "}

# Phase names inside "phase_deadline"; resource names of the autoscaler's limits: cluster-autoscaler's
# cloudprovider.ResourceNameCores/Memory, "nodes" (scaleup.py), and any other name is a GPU type
# (cloudprovider/cloud_provider.go IsCustomResource: "anything which is not cpu/memory" is a GPU).
PHASES = {
    "waiting for a node": "ノードの待機",
    "preparing the server": "サーバーの起動準備",
    "pulling the image": "イメージのダウンロード",
    "starting the server": "サーバーの起動",
}
RESOURCES = {
    "cpu": ("CPU cores", "CPU コア数"),
    "memory": ("memory", "メモリ"),
    "nodes": ("the total number of nodes", "ノード総数"),
}


def phase_name(phase: str, language: str) -> str:
    return PHASES.get(phase, phase) if language == "ja" else phase


def resource_names(resources: str, language: str) -> str:
    """``"cpu, nvidia.com/gpu"`` -> ``"CPU cores and GPUs"`` (``"CPU コア数・GPU 数"``)."""
    ja = language == "ja"
    names = []
    for resource in (r.strip() for r in resources.split(",") if r.strip()):
        en_name, ja_name = RESOURCES.get(resource, ("GPUs", "GPU 数"))
        names.append(ja_name if ja else en_name)
    names = list(dict.fromkeys(names))
    return "・".join(names) if ja else " and ".join(names)


def duration(seconds: float, language: str = "en") -> str:
    """``"45 s"`` / ``"5 min"`` (``"45 秒"`` / ``"5 分"``): seconds under 90 s, whole minutes above."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} 秒" if language == "ja" else f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} 分" if language == "ja" else f"{minutes} min"


def message(key: str, language: str = "en", **values) -> str:
    templates = MESSAGES[key]
    template = templates.get(language) or templates["en"]
    if "kind" in values:
        values.setdefault("kind_ja", KIND_JA.get(values["kind"], ""))
    return template.format(**values)
