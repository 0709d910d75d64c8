"""The doctor's text: one table per language, same keys (tested), as in hub_ext/cost/i18n.py.

``title_*`` names a check, ``saw_*`` says what it saw (settings and files, never a secret),
``fix_*`` is the fix in one sentence.
"""

from __future__ import annotations

import os

from hybridhub.hub_ext.language import negotiate

EN = {
    "report": "hybridhub doctor: {passed} passed, {warned} warnings, {failed} failed ({config})",
    "pass": "PASS", "warn": "WARN", "fail": "FAIL",
    "fix": "fix",
    "title_profile-list": "Profile list is the catalog",
    "title_authenticator": "GitLab login hands the token over",
    "title_services": "Hub services share the catalog and reach Kubernetes",
    "title_storage-endpoint": "User servers: object store",
    "title_storage-keys": "User servers: each user's own storage keys",
    "title_gitlab-url": "User servers: GitLab",
    "title_culler-url": "User servers: culler report URL",
    "title_budget": "Budget and prices",
    "title_timezone": "Time zone of the accounting month",
    "title_config": "The hub's configuration loads",
    "saw_config_error": "loading the configuration failed: {error}",
    "fix_config_error": "Correct the setting the error names (the hub does not start like this either).",
    "fix_config_missing": ("Run the doctor in the hub pod (kubectl exec deploy/hub -- hybridhub doctor) or give the "
                           "hub's config file with --config."),
    "saw_check_error": "the check itself failed: {error}",
    "fix_check_error": "Report this as a hybridhub bug with the doctor's output.",
    "saw_spawner_class": "spawner is {cls}, which does not use the profile catalog",
    "fix_spawner_class": "Set hub.config.JupyterHub.spawner_class to hybridhub.spawner.kube.HybridKubeSpawner.",
    "saw_profile_list_catalog": "{cls} serves the catalog's profiles (profile_list not set)",
    "saw_profile_list_overridden": "{where} is set and replaces the catalog: {what}",
    "fix_profile_list": ("Remove singleuser.profileList from your values (set it to null) and define profiles "
                         "in c.ProfileCatalog.profiles only."),
    "saw_authenticator_class": "authenticator is {cls}, which does not keep the GitLab token for user servers",
    "fix_authenticator_class": ("Set hub.config.JupyterHub.authenticator_class to "
                                "hybridhub.hub_ext.gitlab.HybridGitLabOAuthenticator."),
    "saw_scopes": "requested scopes are \"{scopes}\", the GitLab application is registered with \"{expected}\"",
    "fix_scopes": ("Set HybridGitLabOAuthenticator.scope to exactly the registered scopes (or remove it to use "
                   "the default)."),
    "saw_auth_state": "auth state enabled: {enabled}; JUPYTERHUB_CRYPT_KEY present: {key}",
    "fix_auth_state": ("Enable auth state and give the hub JUPYTERHUB_CRYPT_KEY from the hybridhub-secrets Secret "
                       "(crypt-key)."),
    "saw_authenticator_ok": "{cls} with auth state, scopes \"{scopes}\"",
    "saw_no_services": "no hybridhub service (culler, cost) is run by the hub",
    "fix_no_services": "Keep hub.services hybridhub-culler and hybridhub-cost from jupyterhub-aks.yaml.",
    "saw_service_catalog_missing": "service {service}: no {variable} (the hub's catalog is not handed over)",
    "saw_service_catalog_differs": "service {service}: {variable} differs from the hub's catalog",
    "saw_service_kube": "service {service} has no Kubernetes API address: {missing} missing",
    "fix_service_handover": ("Keep the extraConfig 90-hybridhub-services (hand_over_to_services(c)) as the last "
                             "hub.extraConfig entry."),
    "saw_services_ok": "{services} get the hub's catalog and the Kubernetes API address",
    "saw_storage_endpoint_unset": "HybridSpawner.storage_endpoint is empty: servers get no object store",
    "fix_storage_endpoint": "Set hub.config.HybridSpawner.storage_endpoint to the MinIO URL in your site values.",
    "saw_storage_endpoint": "storage endpoint {url}",
    "saw_keys_unset": "no HybridSpawner.storage_credentials_file: users get no storage keys",
    "saw_keys_shared": "one shared storage key for every user (storage_access_key), no per-user keys file",
    "fix_keys_unset": ("Set HybridSpawner.storage_credentials_file to the mounted users.json of the "
                       "hybridhub-s3-users Secret."),
    "saw_keys_unreadable": "cannot read the storage keys file {path}: {error}",
    "fix_keys_unreadable": ("Mount the hybridhub-s3-users Secret (hub.extraVolumes and extraVolumeMounts) at the "
                            "directory of storage_credentials_file."),
    "saw_keys_not_json": "the storage keys file {path} is not a JSON object",
    "fix_keys_not_json": ("Recreate the hybridhub-s3-users Secret from a users.json of the form "
                          "{{\"user\": {{\"access_key\": …, \"secret_key\": …}}}}."),
    "saw_keys_empty": "the storage keys file {path} has no user yet",
    "fix_keys_empty": "Add each colleague's keys to the hybridhub-s3-users Secret (deployment guide, step 8).",
    "saw_keys_ok": "storage keys file {path} holds keys for {users} users",
    "saw_gitlab_url_unset": "HybridSpawner.gitlab_url is empty: servers cannot reach GitLab",
    "fix_gitlab_url": "Set hub.config.HybridSpawner.gitlab_url to your GitLab URL in your site values.",
    "saw_gitlab_url": "GitLab {url}",
    "saw_culler_url_unset": "user servers get no {variable}: they cannot report activity to the culler",
    "fix_culler_url": ("Set singleuser.extraEnv.HYBRIDHUB_CULLER_URL to http://hub:10100/services/hybridhub-culler/ "
                       "(as in jupyterhub-aks.yaml)."),
    "saw_culler_url": "culler report URL {url}",
    "saw_no_cost_service": "the hub runs no {service} service",
    "fix_no_cost_service": "Keep hub.services.hybridhub-cost from jupyterhub-aks.yaml.",
    "saw_cost_config_error": "the cost service's settings cannot be loaded: {error}",
    "fix_cost_config": "Correct the CostService settings in hub.extraFiles.hybridhub-services.",
    "saw_budget_unset": "not set: {unset}",
    "fix_budget": ("Set CostService.budget, lb_price_per_hour and public_ip_price_per_hour in "
                   "hub.extraFiles.hybridhub-services, and a vm_price_per_hour for every pool."),
    "saw_budget_ok": "budget {budget} {currency}, prices for {pools} pools",
    "saw_timezone_unknown": "the cost service's settings cannot be loaded",
    "saw_timezone_unset": "CostService.timezone is not set: the month is counted in {zone}",
    "fix_timezone": "Set CostService.timezone to your company's time zone (e.g. Asia/Tokyo).",
    "saw_timezone_differs": "the cost month is in {zone}, the hub's TZ is {tz}",
    "fix_timezone_differs": "Use the same time zone for CostService.timezone and the hub's TZ.",
    "saw_timezone_ok": "the cost month is counted in {zone}",
    "title_store-answers": "Object store answers (live)",
    "title_store-keys-accepted": "Object store accepts a user's keys (live)",
    "title_store-bucket": "Default bucket exists and keeps versions (live)",
    "title_store-cors": "Browsers may download from the store directly (live)",
    "title_clock": "The hub's clock agrees with the object store's (live)",
    "title_gitlab-answers": "GitLab answers (live)",
    "title_gitlab-oauth": "GitLab's OAuth provider answers (live)",
    "saw_live_skipped": "not checked: {setting} is empty",
    "saw_store_unreachable": "no answer from {url}: {error}",
    "fix_store_unreachable": ("Make the object store reachable from the hub at HybridSpawner.storage_endpoint "
                              "(address, port, firewall), or correct that URL."),
    "saw_store_tls": "TLS with {url} failed: {error}",
    "fix_store_tls": ("Give HybridSpawner.storage_ca_bundle the CA that signed the store's certificate (mounted at "
                      "the same path in the hub), or use the store's https:// host name its certificate names."),
    "saw_store_answers": "{url} answers (HTTP {status}, {tls})",
    "saw_store_keys": "the store refused user {user}'s keys at {url}: {code}",
    "fix_store_keys": ("Put the user's current access and secret key (as the store knows them) in the "
                       "hybridhub-s3-users Secret."),
    "saw_store_error": "the store answered user {user} with {code} ({url})",
    "fix_store_error": "Allow the users' store policy to read the default bucket (and its versioning and CORS).",
    "saw_store_keys_ok": "user {user}'s keys are accepted by {url}",
    "saw_store_no_bucket": "the default bucket {bucket} does not exist at {url}",
    "fix_store_bucket": "Create the bucket HybridSpawner.storage_default_bucket names, or correct the name.",
    "saw_store_bucket_name": "the default bucket name {bucket} is not a valid S3 bucket name",
    "saw_store_versioning_off": "bucket {bucket} keeps no versions (versioning {status}): pins cannot hold versions",
    "fix_store_versioning": ("Turn versioning on for the bucket (mc version enable <alias>/<bucket>): the storage "
                             "panel's pins and version list need it."),
    "saw_store_versioning_on": "bucket {bucket} exists and keeps versions (user {user})",
    "saw_cors_not_needed": "storage_browser_endpoint is not set: downloads go through the user server, no CORS needed",
    "saw_cors_none": "the store refuses GET from {origin} and bucket {bucket} has no CORS rules",
    "saw_cors_not_allowed": "bucket {bucket}'s CORS rules do not allow GET from {origin}",
    "fix_store_cors": ("Add a CORS rule to the bucket allowing GET and PUT from the hub's address and exposing the ETag "
                       "header (S3 PutBucketCors, e.g. aws s3api put-bucket-cors; docs/storage.md \"CORS for direct "
                       "transfers\"), or leave storage_browser_endpoint empty."),
    "saw_cors_no_put": ("the store allows GET but not PUT from {origin} on bucket {bucket}: downloads go straight to "
                        "browsers, uploads fall back to the user server"),
    "saw_cors_not_implemented": ("the store refuses GET from {origin}, and has no per-bucket CORS (GetBucketCors "
                                 "answers NotImplemented): CORS is its server-wide setting"),
    "fix_store_cors_elsewhere": ("Allow GET from the hub's address in the store's server-wide CORS setting "
                                 "(MinIO: mc admin config set <alias> api cors_allow_origin=<hub URL>), or leave "
                                 "storage_browser_endpoint empty."),
    "saw_cors_ok": "the store allows GET and PUT from {origin} on bucket {bucket} (CORS preflights)",
    "saw_clock_no_date": "{url} sent no Date header: the clocks cannot be compared",
    "saw_clock_skew": "the hub's clock is {skew} s off the object store's ({url})",
    "fix_clock": ("Synchronise the clocks of the hub's node and the object store with NTP (S3 refuses requests "
                  "more than 15 minutes off: RequestTimeTooSkewed)."),
    "saw_clock_ok": "the hub's clock is within {skew} s of the object store's",
    "saw_gitlab_unreachable": "no answer from {url}: {error}",
    "fix_gitlab_unreachable": ("Make GitLab reachable from the hub at HybridSpawner.gitlab_url (address, port, "
                               "firewall), or correct that URL."),
    "saw_gitlab_tls": "TLS with {url} failed: {error}",
    "fix_gitlab_tls": ("Give HybridSpawner.gitlab_ca_bundle the CA that signed GitLab's certificate (mounted at the "
                       "same path in the hub), or use the host name its certificate names."),
    "saw_gitlab_answers": "GitLab's API answers at {url} (HTTP {status}, {tls})",
    "saw_gitlab_no_api": "{url} does not answer as GitLab's API (HTTP {status} for /api/v4/version)",
    "fix_gitlab_no_api": "Set HybridSpawner.gitlab_url to GitLab's base URL (the address its sign-in page is under).",
    "saw_gitlab_oauth": "the OAuth token endpoint answers ({url}, HTTP {status})",
    "saw_gitlab_no_oauth": "{url} is not an OAuth token endpoint (HTTP {status})",
    "title_kube-access": "The hub and its services reach the Kubernetes API with their permissions (live)",
    "title_pools": "Every profile's pool has nodes it may run on (live)",
    "title_gpu-nodes": "GPU profiles' nodes advertise GPUs (live)",
    "title_images": "Every profile's image can be pulled (live)",
    "title_image-pullers": "GPU nodes get their image as they join, before their user comes (live)",
    "title_runners": "The pipeline template's runner tags have online runners (live)",
    "saw_kube_config_missing": "the cost service's kubeconfig {path} (CostService.kube_config_file) does not exist",
    "fix_kube_config_missing": ("Mount the kubeconfig at that path, or remove --kubeconfig from the cost service's "
                                "command (in the hub pod the service account is used)."),
    "saw_kube_check_forbidden": "the API server at {url} forbids the hub's account a read this check needs (403)",
    "fix_kube_check_forbidden": ("Grant the hub's service account list on nodes and on DaemonSets in its namespace "
                                 "(helm-values/cost-node-reader.yaml) and get on Secrets in its namespace (the "
                                 "chart's hub Role)."),
    "saw_kube_not_used": "not checked: the spawner {cls} does not start servers on Kubernetes",
    "saw_kube_no_config": "no Kubernetes configuration: no service account (not in a pod) and no KUBECONFIG",
    "fix_kube_no_config": ("Run the doctor in the hub pod (kubectl exec deploy/hub -- hybridhub doctor), where the "
                           "service account is mounted, or set KUBECONFIG to a kubeconfig file."),
    "saw_kube_config_error": "the Kubernetes configuration cannot be loaded: {error}",
    "saw_kube_unauthorized": "the API server at {url} refused the credentials (401 Unauthorized)",
    "fix_kube_unauthorized": ("Give the hub a valid service account token (keep automountServiceAccountToken on the "
                              "hub pod) or a kubeconfig whose credentials are current."),
    "saw_kube_error": "the API server at {url} answered HTTP {status} ({reason})",
    "saw_kube_unreachable": "no answer from the API server at {url}: {error}",
    "fix_kube_unreachable": ("Let the hub pod reach the Kubernetes API (network policy, KUBERNETES_SERVICE_HOST/PORT) "
                             "or correct the kubeconfig's server."),
    "saw_kube_tls": "TLS with the API server at {url} failed: {error}",
    "fix_kube_tls": "Use the cluster's CA (the service account's ca.crt, or the kubeconfig's certificate-authority).",
    "saw_kube_forbidden": "{who}: forbidden to {denied}",
    "fix_kube_forbidden": ("Grant the hub's service account these verbs (the chart's hub Role for the user namespace; "
                           "helm-values/cost-node-reader.yaml for nodes and the events of default and kube-system)."),
    "saw_kube_access_ok": ("all {reviewed} permissions allowed (SelfSubjectAccessReview), {tried} reads tried "
                           "({where})"),
    "saw_kube_access_reads_only": ("{tried} reads allowed ({where}); the API server does not answer "
                                   "SelfSubjectAccessReview, so {writes} create/delete permissions are not checked"),
    "saw_pool_missing": "no node and no autoscaler node group for: {profiles} ({nodes} nodes in the cluster)",
    "fix_pool_missing": ("Create the AKS node pool the profile names (az aks nodepool add --name <pool> "
                         "--enable-cluster-autoscaler --min-count 0), or correct the pool in c.ProfileCatalog."),
    "saw_pool_labels": "the pool has nodes but none with the labels the pods require: {profiles}",
    "fix_pool_labels": ("Label the pool's nodes as the profile requires (az aks nodepool update --labels, e.g. "
                        "hub.jupyter.org/node-purpose=user), or change the chart's scheduling settings."),
    "saw_pool_taints": "the pool's nodes carry taints the profile does not tolerate: {profiles}",
    "fix_pool_taints": ("Give the pool's taints to the pool in c.ProfileCatalog.pools (its profiles then tolerate "
                        "them), or remove the taint from the AKS node pool."),
    "saw_pool_zero_unknown": ("no node now for: {profiles}; the autoscaler's status (kube-system/"
                              "cluster-autoscaler-status) cannot be read, so whether it can scale these from zero "
                              "is unknown"),
    "fix_pool_zero_unknown": ("Check the pool in the Azure portal (autoscaling on, minimum 0), or let the hub read the "
                              "ConfigMap kube-system/cluster-autoscaler-status."),
    "saw_pool_zero_known": ("scaled to zero, the autoscaler knows the node group: {profiles}; a new node's labels "
                            "and taints cannot be checked before it exists"),
    "fix_pool_zero_known": ("Start a server of the profile once (or scale the pool to one node) and run the doctor "
                            "again to check the new node."),
    "saw_pools_ok": "nodes the profiles may run on (profile: nodes): {profiles}",
    "saw_gpu_none_needed": "no profile asks for a GPU",
    "saw_gpu_not_advertised": "nodes for GPU profiles advertise no {resource}: {profiles}",
    "fix_gpu_not_advertised": ("Install the NVIDIA device plugin on the GPU pools (helm-values/nvidia-device-plugin.yaml) "
                               "so the nodes advertise nvidia.com/gpu."),
    "saw_gpu_no_node": "no node now for the GPU profiles (scaled to zero): {profiles}",
    "fix_gpu_no_node": "Start a GPU server once and run the doctor again to check that its node advertises GPUs.",
    "saw_gpu_ok": "nodes with {resource} (profile: nodes): {profiles}",
    "saw_pullers_ok": "pulled on each GPU node as it joins (image → pool (DaemonSet)): {images}",
    "saw_pullers_missing": ("no DaemonSet in namespace {namespace} pulls these on the GPU nodes as they join "
                            "(image → pool [what the pool's pullers pull instead]): {images}. A warm node then "
                            "pulls its image only when its user comes"),
    "fix_pullers_missing": ("Apply helm-values/gpu-image-puller.yaml with your registry and tag (docs/deploy-aks.md, "
                            "step 5: the sed line), so that it names the image exactly as the hub does."),
    "saw_image_secret_missing": "the image pull Secret {secret} does not exist in namespace {namespace}",
    "fix_image_secret_missing": ("Create it (kubectl create secret docker-registry <name> --docker-server=<registry> "
                                 "--docker-username=<user> --docker-password=<token> -n <namespace>) or correct "
                                 "imagePullSecrets in the values."),
    "saw_image_no_api": "{registry} does not answer as a container registry (HTTP {status} for /v2/), image {image}",
    "fix_image_no_api": "Correct the registry host in the profile's image (c.ProfileCatalog.profiles).",
    "saw_image_token": "{registry} gave no pull token for {image} (HTTP {status}, pull secret: {secret})",
    "saw_image_denied": "{registry} refused to serve {image} (HTTP {status}, pull secret: {secret})",
    "fix_image_credentials": ("Put a registry login allowed to pull the image into the pull Secret the values name "
                              "(imagePullSecrets), e.g. a GitLab deploy token with read_registry."),
    "saw_image_missing": "{registry} has no image {image} (manifest not found)",
    "fix_image_missing": "Push the image, or correct its name or tag in c.ProfileCatalog.profiles.",
    "saw_images_ok": "the registries serve the images (pull secret): {images}",
    "saw_registry_unreachable": "no answer from {url}: {error}",
    "fix_registry_unreachable": ("Make the registry reachable from the cluster (address, firewall), or correct the "
                                 "registry host in the profile's image."),
    "saw_registry_tls": "TLS with {url} failed: {error}",
    "fix_registry_tls": ("Give the hub the CA that signed the registry's certificate (SSL_CERT_FILE in hub.extraEnv); "
                         "the nodes need to trust it as well."),
    "saw_runners_no_token": "not checked: no GitLab token in {variable}",
    "fix_runners_no_token": ("Run the doctor with HYBRIDHUB_DOCTOR_GITLAB_TOKEN set to a GitLab administrator's personal access token "
                             "with read_api (kubectl exec deploy/hub -- env HYBRIDHUB_DOCTOR_GITLAB_TOKEN=… hybridhub "
                             "doctor)."),
    "saw_runners_no_template": "not checked: the pipeline template {template} is not installed",
    "saw_runners_token_refused": "GitLab refused the token in {variable} (401)",
    "saw_runners_not_owned": ("no online runner among the token user's own runners for tags: {missing} (instance "
                              "runners are listed to administrators only)"),
    "fix_runners_admin_token": "Run the doctor with an administrator's token to see the instance runners as well.",
    "saw_runners_missing": "no online, unpaused runner carries the tags: {missing} (the template's jobs need {tags})",
    "fix_runners_missing": ("Create and start a runner with these tags (Admin > CI/CD > Runners; "
                            "helm-values/gitlab-runner-cloud.yaml and helm-values/onprem/), or unpause it."),
    "saw_runners_ok": "online runners carry each job's tags: {tags}",
}

JA = {
    "report": "hybridhub doctor: 合格 {passed}、警告 {warned}、不合格 {failed}（{config}）",
    "pass": "合格", "warn": "警告", "fail": "不合格",
    "fix": "対処",
    "title_profile-list": "プロファイル一覧がカタログであること",
    "title_authenticator": "GitLab ログインがトークンを引き渡すこと",
    "title_services": "ハブのサービスがカタログを共有し Kubernetes に届くこと",
    "title_storage-endpoint": "ユーザーサーバー: オブジェクトストレージ",
    "title_storage-keys": "ユーザーサーバー: ユーザーごとのストレージキー",
    "title_gitlab-url": "ユーザーサーバー: GitLab",
    "title_culler-url": "ユーザーサーバー: カラーへの報告 URL",
    "title_budget": "予算と価格",
    "title_timezone": "会計月のタイムゾーン",
    "title_config": "ハブの設定が読み込めること",
    "saw_config_error": "設定の読み込みに失敗しました: {error}",
    "fix_config_error": "エラーが示す設定を直してください（このままではハブも起動しません）。",
    "fix_config_missing": ("doctor はハブの Pod 内で実行するか（kubectl exec deploy/hub -- hybridhub doctor）、"
                           "--config でハブの設定ファイルを指定してください。"),
    "saw_check_error": "チェック自体が失敗しました: {error}",
    "fix_check_error": "doctor の出力を添えて hybridhub の不具合として報告してください。",
    "saw_spawner_class": "スポナーは {cls} で、プロファイルカタログを使いません",
    "fix_spawner_class": "hub.config.JupyterHub.spawner_class を hybridhub.spawner.kube.HybridKubeSpawner にしてください。",
    "saw_profile_list_catalog": "{cls} がカタログのプロファイルを提供しています（profile_list は未設定）",
    "saw_profile_list_overridden": "{where} が設定され、カタログを置き換えています: {what}",
    "fix_profile_list": ("values から singleuser.profileList を削除し（null にし）、プロファイルは "
                         "c.ProfileCatalog.profiles だけで定義してください。"),
    "saw_authenticator_class": "認証は {cls} で、GitLab トークンをユーザーサーバーに渡しません",
    "fix_authenticator_class": ("hub.config.JupyterHub.authenticator_class を "
                                "hybridhub.hub_ext.gitlab.HybridGitLabOAuthenticator にしてください。"),
    "saw_scopes": "要求するスコープは「{scopes}」、GitLab アプリケーションの登録は「{expected}」です",
    "fix_scopes": ("HybridGitLabOAuthenticator.scope を登録済みのスコープと完全に同じにしてください"
                   "（削除すれば既定値になります）。"),
    "saw_auth_state": "auth state の有効化: {enabled}、JUPYTERHUB_CRYPT_KEY の有無: {key}",
    "fix_auth_state": ("auth state を有効にし、hybridhub-secrets シークレット（crypt-key）から "
                       "JUPYTERHUB_CRYPT_KEY をハブに渡してください。"),
    "saw_authenticator_ok": "{cls}（auth state あり、スコープ「{scopes}」）",
    "saw_no_services": "ハブが起動する hybridhub のサービス（カラー、コスト）がありません",
    "fix_no_services": "jupyterhub-aks.yaml の hub.services の hybridhub-culler と hybridhub-cost を残してください。",
    "saw_service_catalog_missing": "サービス {service}: {variable} がありません（ハブのカタログが渡されていません）",
    "saw_service_catalog_differs": "サービス {service}: {variable} がハブのカタログと異なります",
    "saw_service_kube": "サービス {service} に Kubernetes API のアドレスがありません: {missing} がありません",
    "fix_service_handover": ("extraConfig の 90-hybridhub-services（hand_over_to_services(c)）を "
                             "hub.extraConfig の最後の項目として残してください。"),
    "saw_services_ok": "{services} がハブのカタログと Kubernetes API のアドレスを受け取っています",
    "saw_storage_endpoint_unset": "HybridSpawner.storage_endpoint が空です。サーバーにオブジェクトストレージがありません",
    "fix_storage_endpoint": "サイトの values で hub.config.HybridSpawner.storage_endpoint に MinIO の URL を設定してください。",
    "saw_storage_endpoint": "ストレージのエンドポイント {url}",
    "saw_keys_unset": "HybridSpawner.storage_credentials_file がありません。ユーザーにストレージキーが渡りません",
    "saw_keys_shared": "全ユーザーで共有の 1 つのキー（storage_access_key）で、ユーザーごとのキーファイルがありません",
    "fix_keys_unset": ("HybridSpawner.storage_credentials_file に hybridhub-s3-users シークレットの users.json の"
                       "マウント先を設定してください。"),
    "saw_keys_unreadable": "ストレージキーのファイル {path} を読めません: {error}",
    "fix_keys_unreadable": ("hybridhub-s3-users シークレットを storage_credentials_file のディレクトリに"
                            "マウントしてください（hub.extraVolumes と extraVolumeMounts）。"),
    "saw_keys_not_json": "ストレージキーのファイル {path} が JSON オブジェクトではありません",
    "fix_keys_not_json": ("{{\"ユーザー\": {{\"access_key\": …, \"secret_key\": …}}}} の形の users.json から "
                          "hybridhub-s3-users シークレットを作り直してください。"),
    "saw_keys_empty": "ストレージキーのファイル {path} にまだユーザーがいません",
    "fix_keys_empty": "各同僚のキーを hybridhub-s3-users シークレットに追加してください（デプロイ手順のステップ 8）。",
    "saw_keys_ok": "ストレージキーのファイル {path} に {users} 人分のキーがあります",
    "saw_gitlab_url_unset": "HybridSpawner.gitlab_url が空です。サーバーが GitLab に届きません",
    "fix_gitlab_url": "サイトの values で hub.config.HybridSpawner.gitlab_url に GitLab の URL を設定してください。",
    "saw_gitlab_url": "GitLab {url}",
    "saw_culler_url_unset": "ユーザーサーバーに {variable} がありません。カラーに利用状況を報告できません",
    "fix_culler_url": ("singleuser.extraEnv.HYBRIDHUB_CULLER_URL を http://hub:10100/services/hybridhub-culler/ に"
                       "設定してください（jupyterhub-aks.yaml と同じ）。"),
    "saw_culler_url": "カラーへの報告 URL {url}",
    "saw_no_cost_service": "ハブが {service} サービスを起動していません",
    "fix_no_cost_service": "jupyterhub-aks.yaml の hub.services.hybridhub-cost を残してください。",
    "saw_cost_config_error": "コストサービスの設定を読み込めません: {error}",
    "fix_cost_config": "hub.extraFiles.hybridhub-services の CostService の設定を直してください。",
    "saw_budget_unset": "未設定: {unset}",
    "fix_budget": ("hub.extraFiles.hybridhub-services で CostService.budget、lb_price_per_hour、"
                   "public_ip_price_per_hour を設定し、すべてのプールに vm_price_per_hour を設定してください。"),
    "saw_budget_ok": "予算 {budget} {currency}、{pools} プールの価格",
    "saw_timezone_unknown": "コストサービスの設定を読み込めません",
    "saw_timezone_unset": "CostService.timezone が未設定です。月は {zone} で数えられます",
    "fix_timezone": "CostService.timezone に会社のタイムゾーン（例: Asia/Tokyo）を設定してください。",
    "saw_timezone_differs": "コストの月は {zone}、ハブの TZ は {tz} です",
    "fix_timezone_differs": "CostService.timezone とハブの TZ を同じタイムゾーンにしてください。",
    "saw_timezone_ok": "コストの月は {zone} で数えられます",
    "title_store-answers": "オブジェクトストレージが応答すること（接続）",
    "title_store-keys-accepted": "オブジェクトストレージがユーザーのキーを受け付けること（接続）",
    "title_store-bucket": "既定のバケットがあり、バージョンを保持すること（接続）",
    "title_store-cors": "ブラウザがストレージから直接ダウンロードできること（接続）",
    "title_clock": "ハブの時計がオブジェクトストレージの時計と合っていること（接続）",
    "title_gitlab-answers": "GitLab が応答すること（接続）",
    "title_gitlab-oauth": "GitLab の OAuth プロバイダーが応答すること（接続）",
    "saw_live_skipped": "未確認: {setting} が空です",
    "saw_store_unreachable": "{url} から応答がありません: {error}",
    "fix_store_unreachable": ("ハブから HybridSpawner.storage_endpoint のオブジェクトストレージに届くようにするか"
                              "（アドレス、ポート、ファイアウォール）、その URL を直してください。"),
    "saw_store_tls": "{url} との TLS に失敗しました: {error}",
    "fix_store_tls": ("HybridSpawner.storage_ca_bundle にストレージの証明書に署名した CA を指定し（ハブにも同じパスで"
                      "マウント）、または証明書に記載された https:// のホスト名を使ってください。"),
    "saw_store_answers": "{url} が応答しました（HTTP {status}、{tls}）",
    "saw_store_keys": "ストレージが {url} でユーザー {user} のキーを拒否しました: {code}",
    "fix_store_keys": ("hybridhub-s3-users シークレットに、ストレージに登録されている現在のアクセスキーと"
                       "シークレットキーを入れてください。"),
    "saw_store_error": "ストレージがユーザー {user} に {code} を返しました（{url}）",
    "fix_store_error": "ユーザーのストレージポリシーで既定のバケット（とそのバージョニング、CORS）の読み取りを許可してください。",
    "saw_store_keys_ok": "ユーザー {user} のキーを {url} が受け付けました",
    "saw_store_no_bucket": "既定のバケット {bucket} が {url} にありません",
    "fix_store_bucket": "HybridSpawner.storage_default_bucket のバケットを作成するか、名前を直してください。",
    "saw_store_bucket_name": "既定のバケット名 {bucket} は S3 のバケット名として正しくありません",
    "saw_store_versioning_off": "バケット {bucket} はバージョンを保持しません（バージョニング {status}）。ピン留めできません",
    "fix_store_versioning": ("バケットのバージョニングを有効にしてください（mc version enable <alias>/<bucket>）。"
                             "ストレージパネルのピン留めとバージョン一覧に必要です。"),
    "saw_store_versioning_on": "バケット {bucket} があり、バージョンを保持しています（ユーザー {user}）",
    "saw_cors_not_needed": "storage_browser_endpoint が未設定です。ダウンロードはユーザーサーバー経由で、CORS は不要です",
    "saw_cors_none": "ストレージが {origin} からの GET を拒否し、バケット {bucket} に CORS ルールがありません",
    "saw_cors_not_allowed": "バケット {bucket} の CORS ルールが {origin} からの GET を許可していません",
    "fix_store_cors": ("ハブのアドレスからの GET と PUT を許可し ETag ヘッダーを公開する CORS ルールをバケットに追加するか"
                       "（S3 の PutBucketCors。例: aws s3api put-bucket-cors。docs/storage.md「CORS for direct "
                       "transfers」）、storage_browser_endpoint を空にしてください。"),
    "saw_cors_no_put": ("ストレージがバケット {bucket} で {origin} からの GET を許可し、PUT を許可していません。ダウンロードは"
                        "ブラウザーへ直接届き、アップロードはユーザーサーバー経由になります"),
    "saw_cors_not_implemented": ("ストレージが {origin} からの GET を拒否し、バケットごとの CORS がありません（GetBucketCors "
                                 "が NotImplemented）。CORS はサーバー全体の設定です"),
    "fix_store_cors_elsewhere": ("ストレージのサーバー全体の CORS 設定でハブのアドレスからの GET を許可するか（MinIO: "
                                 "mc admin config set <alias> api cors_allow_origin=<ハブの URL>）、"
                                 "storage_browser_endpoint を空にしてください。"),
    "saw_cors_ok": "ストレージがバケット {bucket} で {origin} からの GET と PUT を許可しています（CORS プリフライト）",
    "saw_clock_no_date": "{url} が Date ヘッダーを返しません。時計を比較できません",
    "saw_clock_skew": "ハブの時計がオブジェクトストレージの時計と {skew} 秒ずれています（{url}）",
    "fix_clock": ("ハブのノードとオブジェクトストレージの時計を NTP で合わせてください（S3 は 15 分を超えてずれた"
                  "リクエストを拒否します: RequestTimeTooSkewed）。"),
    "saw_clock_ok": "ハブの時計とオブジェクトストレージの時計の差は {skew} 秒以内です",
    "saw_gitlab_unreachable": "{url} から応答がありません: {error}",
    "fix_gitlab_unreachable": ("ハブから HybridSpawner.gitlab_url の GitLab に届くようにするか（アドレス、ポート、"
                               "ファイアウォール）、その URL を直してください。"),
    "saw_gitlab_tls": "{url} との TLS に失敗しました: {error}",
    "fix_gitlab_tls": ("HybridSpawner.gitlab_ca_bundle に GitLab の証明書に署名した CA を指定し（ハブにも同じパスで"
                       "マウント）、または証明書に記載されたホスト名を使ってください。"),
    "saw_gitlab_answers": "GitLab の API が {url} で応答しました（HTTP {status}、{tls}）",
    "saw_gitlab_no_api": "{url} は GitLab の API として応答しません（/api/v4/version に HTTP {status}）",
    "fix_gitlab_no_api": "HybridSpawner.gitlab_url を GitLab のベース URL（サインインページがある場所）にしてください。",
    "saw_gitlab_oauth": "OAuth のトークンエンドポイントが応答しました（{url}、HTTP {status}）",
    "saw_gitlab_no_oauth": "{url} は OAuth のトークンエンドポイントではありません（HTTP {status}）",
    "title_kube-access": "ハブとサービスが必要な権限で Kubernetes API に届くこと（接続）",
    "title_pools": "各プロファイルのプールに実行できるノードがあること（接続）",
    "title_gpu-nodes": "GPU プロファイルのノードが GPU を公開していること（接続）",
    "title_images": "各プロファイルのイメージを pull できること（接続）",
    "title_image-pullers": "GPU ノードが参加時に、利用者が来る前にイメージを取得すること（接続）",
    "title_runners": "パイプラインテンプレートの Runner タグにオンラインの Runner があること（接続）",
    "saw_kube_config_missing": "コストサービスの kubeconfig {path}（CostService.kube_config_file）がありません",
    "fix_kube_config_missing": ("そのパスに kubeconfig をマウントするか、コストサービスのコマンドから --kubeconfig を"
                                "削除してください（ハブの Pod ではサービスアカウントが使われます）。"),
    "saw_kube_check_forbidden": "{url} の API サーバーが、このチェックに必要な読み取りをハブのアカウントに禁止しています（403）",
    "fix_kube_check_forbidden": ("ハブのサービスアカウントに、ノードと名前空間内の DaemonSet の list"
                                 "（helm-values/cost-node-reader.yaml）と名前空間内のシークレットの get"
                                 "（チャートのハブの Role）を許可してください。"),
    "saw_kube_not_used": "未確認: スポナー {cls} は Kubernetes でサーバーを起動しません",
    "saw_kube_no_config": "Kubernetes の設定がありません: サービスアカウントがなく（Pod の外）、KUBECONFIG もありません",
    "fix_kube_no_config": ("doctor はサービスアカウントがマウントされたハブの Pod 内で実行するか（kubectl exec "
                           "deploy/hub -- hybridhub doctor）、KUBECONFIG に kubeconfig ファイルを指定してください。"),
    "saw_kube_config_error": "Kubernetes の設定を読み込めません: {error}",
    "saw_kube_unauthorized": "{url} の API サーバーが認証情報を拒否しました（401 Unauthorized）",
    "fix_kube_unauthorized": ("ハブに有効なサービスアカウントトークンを渡すか（ハブの Pod の "
                              "automountServiceAccountToken を有効のままに）、認証情報が有効な kubeconfig を使ってください。"),
    "saw_kube_error": "{url} の API サーバーが HTTP {status}（{reason}）を返しました",
    "saw_kube_unreachable": "{url} の API サーバーから応答がありません: {error}",
    "fix_kube_unreachable": ("ハブの Pod から Kubernetes API に届くようにするか（ネットワークポリシー、"
                             "KUBERNETES_SERVICE_HOST/PORT）、kubeconfig の server を直してください。"),
    "saw_kube_tls": "{url} の API サーバーとの TLS に失敗しました: {error}",
    "fix_kube_tls": "クラスターの CA（サービスアカウントの ca.crt、または kubeconfig の certificate-authority）を使ってください。",
    "saw_kube_forbidden": "{who}: 次の操作が禁止されています: {denied}",
    "fix_kube_forbidden": ("ハブのサービスアカウントにこれらの操作を許可してください（ユーザーの名前空間はチャートのハブの "
                           "Role、ノードと default・kube-system のイベントは helm-values/cost-node-reader.yaml）。"),
    "saw_kube_access_ok": ("{reviewed} 件の権限がすべて許可され（SelfSubjectAccessReview）、{tried} 件の読み取りを"
                           "試しました（{where}）"),
    "saw_kube_access_reads_only": ("{tried} 件の読み取りが許可されています（{where}）。API サーバーが "
                                   "SelfSubjectAccessReview に応答しないため、作成・削除の {writes} 件の権限は未確認です"),
    "saw_pool_missing": "ノードもオートスケーラーのノードグループもありません: {profiles}（クラスターのノード数 {nodes}）",
    "fix_pool_missing": ("プロファイルが指定する AKS ノードプールを作成するか（az aks nodepool add --name <pool> "
                         "--enable-cluster-autoscaler --min-count 0）、c.ProfileCatalog のプール名を直してください。"),
    "saw_pool_labels": "プールにノードはありますが、Pod が必要とするラベルを持つノードがありません: {profiles}",
    "fix_pool_labels": ("プロファイルが必要とするラベルをプールのノードに付けるか（az aks nodepool update --labels。"
                        "例: hub.jupyter.org/node-purpose=user）、チャートのスケジューリング設定を変えてください。"),
    "saw_pool_taints": "プールのノードに、プロファイルが許容しない taint があります: {profiles}",
    "fix_pool_taints": ("c.ProfileCatalog.pools のプールにその taint を設定するか（プロファイルが許容するようになります）、"
                        "AKS ノードプールから taint を外してください。"),
    "saw_pool_zero_unknown": ("現在ノードがありません: {profiles}。オートスケーラーの状態（kube-system/"
                              "cluster-autoscaler-status）を読めないため、ゼロからスケールできるかは不明です"),
    "fix_pool_zero_unknown": ("Azure ポータルでプールを確認するか（自動スケーリング有効、最小 0）、ハブが ConfigMap "
                              "kube-system/cluster-autoscaler-status を読めるようにしてください。"),
    "saw_pool_zero_known": ("ゼロにスケール済みで、オートスケーラーはノードグループを把握しています: {profiles}。"
                            "新しいノードのラベルと taint は、ノードができるまで確認できません"),
    "fix_pool_zero_known": ("そのプロファイルのサーバーを一度起動するか（またはプールを 1 ノードにして）、doctor を"
                            "再実行して新しいノードを確認してください。"),
    "saw_pools_ok": "プロファイルが実行できるノード（プロファイル: ノード数）: {profiles}",
    "saw_gpu_none_needed": "GPU を求めるプロファイルはありません",
    "saw_gpu_not_advertised": "GPU プロファイル用のノードが {resource} を公開していません: {profiles}",
    "fix_gpu_not_advertised": ("GPU プールに NVIDIA device plugin を入れ（helm-values/nvidia-device-plugin.yaml）、"
                               "ノードが nvidia.com/gpu を公開するようにしてください。"),
    "saw_gpu_no_node": "GPU プロファイル用のノードが現在ありません（ゼロにスケール済み）: {profiles}",
    "fix_gpu_no_node": "GPU サーバーを一度起動し、doctor を再実行してノードが GPU を公開しているか確認してください。",
    "saw_gpu_ok": "{resource} を持つノード（プロファイル: ノード数）: {profiles}",
    "saw_pullers_ok": "GPU ノードの参加時に取得されるイメージ（イメージ → プール（DaemonSet））: {images}",
    "saw_pullers_missing": ("名前空間 {namespace} に、GPU ノードの参加時にこれらを取得する DaemonSet がありません"
                            "（イメージ → プール [プールのプリプラーが代わりに取得するイメージ]）: {images}。"
                            "ウォームアップしたノードでも、利用者が来てからイメージを取得します"),
    "fix_pullers_missing": ("helm-values/gpu-image-puller.yaml を自社のレジストリとタグで適用してください"
                            "（docs/deploy-aks.ja.md の手順 5 の sed の行）。ハブと同じイメージ名になります。"),
    "saw_image_secret_missing": "イメージ pull 用のシークレット {secret} が名前空間 {namespace} にありません",
    "fix_image_secret_missing": ("作成するか（kubectl create secret docker-registry <name> --docker-server=<registry> "
                                 "--docker-username=<user> --docker-password=<token> -n <namespace>）、values の "
                                 "imagePullSecrets を直してください。"),
    "saw_image_no_api": "{registry} はコンテナレジストリとして応答しません（/v2/ に HTTP {status}）。イメージ {image}",
    "fix_image_no_api": "プロファイルのイメージ（c.ProfileCatalog.profiles）のレジストリのホスト名を直してください。",
    "saw_image_token": "{registry} が {image} の pull トークンを発行しません（HTTP {status}、pull シークレット: {secret}）",
    "saw_image_denied": "{registry} が {image} の提供を拒否しました（HTTP {status}、pull シークレット: {secret}）",
    "fix_image_credentials": ("values の imagePullSecrets が指すシークレットに、イメージを pull できるレジストリの"
                              "ログイン（例: read_registry を持つ GitLab のデプロイトークン）を入れてください。"),
    "saw_image_missing": "{registry} にイメージ {image} がありません（マニフェストが見つかりません）",
    "fix_image_missing": "イメージを push するか、c.ProfileCatalog.profiles のイメージ名またはタグを直してください。",
    "saw_images_ok": "レジストリがイメージを提供しています（pull シークレット）: {images}",
    "saw_registry_unreachable": "{url} から応答がありません: {error}",
    "fix_registry_unreachable": ("クラスターからレジストリに届くようにするか（アドレス、ファイアウォール）、"
                                 "プロファイルのイメージのレジストリのホスト名を直してください。"),
    "saw_registry_tls": "{url} との TLS に失敗しました: {error}",
    "fix_registry_tls": ("レジストリの証明書に署名した CA をハブに渡してください（hub.extraEnv の SSL_CERT_FILE）。"
                         "ノードもその CA を信頼する必要があります。"),
    "saw_runners_no_token": "未確認: {variable} に GitLab のトークンがありません",
    "fix_runners_no_token": ("HYBRIDHUB_DOCTOR_GITLAB_TOKEN に GitLab 管理者の read_api 付きパーソナルアクセストークンを設定して doctor を"
                             "実行してください（kubectl exec deploy/hub -- env HYBRIDHUB_DOCTOR_GITLAB_TOKEN=… "
                             "hybridhub doctor）。"),
    "saw_runners_no_template": "未確認: パイプラインテンプレート {template} がインストールされていません",
    "saw_runners_token_refused": "GitLab が {variable} のトークンを拒否しました（401）",
    "saw_runners_not_owned": ("トークンのユーザー自身の Runner に、次のタグを持つオンラインの Runner がありません: "
                              "{missing}（インスタンス Runner は管理者にしか一覧されません）"),
    "fix_runners_admin_token": "インスタンス Runner も確認するには、管理者のトークンで doctor を実行してください。",
    "saw_runners_missing": ("次のタグを持つ、オンラインで一時停止していない Runner がありません: {missing}"
                            "（テンプレートのジョブが必要とするタグ: {tags}）"),
    "fix_runners_missing": ("これらのタグを持つ Runner を作成して起動するか（管理者エリア > CI/CD > Runner。"
                            "helm-values/gitlab-runner-cloud.yaml と helm-values/onprem/）、一時停止を解除してください。"),
    "saw_runners_ok": "各ジョブのタグを持つオンラインの Runner があります: {tags}",
}

MESSAGES = {"en": EN, "ja": JA}


def language_from_env(environ=os.environ) -> str:
    """``ja`` when the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``) is Japanese, else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return negotiate(value.split(".")[0].replace("_", "-"), tuple(MESSAGES))
    return "en"


def text(language: str, key: str, **values) -> str:
    table = MESSAGES.get(language, EN)
    return table.get(key, EN[key]).format(**values)
