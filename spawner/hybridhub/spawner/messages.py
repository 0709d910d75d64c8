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
        "en": "The {pool} pool cannot add a node: {reason}. Try again later or choose another profile; "
        "an administrator can raise the pool's maximum or the subscription quota.",
        "ja": "{pool} プールにノードを追加できません: {reason}。しばらくしてから再試行するか、別のプロファイルを"
        "選んでください。管理者はプールの上限またはサブスクリプションのクォータを引き上げられます。",
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
    "phase_deadline": {
        "en": "Your server did not get past '{phase}' within {seconds} s. Try again, or ask an administrator.",
        "ja": "サーバーが {seconds} 秒以内に「{phase}」の段階を終えられませんでした。再試行するか管理者に相談してください。",
    },
}

KIND_JA = {"GPU": "GPU ", "CPU": "CPU "}


def message(key: str, language: str = "en", **values) -> str:
    templates = MESSAGES[key]
    template = templates.get(language) or templates["en"]
    if "kind" in values:
        values.setdefault("kind_ja", KIND_JA.get(values["kind"], ""))
    return template.format(**values)
