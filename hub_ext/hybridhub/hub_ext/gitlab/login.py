"""The hub's login page in the user's language (Accept-Language), "Log in with GitLab"."""

from __future__ import annotations

from jupyterhub.handlers.login import LoginHandler

from hybridhub.hub_ext.language import negotiate

TEXTS = {
    "en": {
        "sign_in": "Log in with {service}",
        "hint": "Use your company {service} account. Your notebooks are pushed with it, no token to paste.",
        "insecure": "Warning: this hub is served over unencrypted HTTP. Ask your administrator to enable HTTPS.",
    },
    "ja": {
        "sign_in": "{service} でログイン",
        "hint": "社内の {service} アカウントを使います。ノートブックはこのアカウントでプッシュされ、トークンの貼り付けは不要です。",
        "insecure": "警告: このハブは暗号化されていない HTTP で提供されています。管理者に HTTPS の有効化を依頼してください。",
    },
}
def login_texts(accept_language: str | None, service: str) -> dict:
    lang = negotiate(accept_language, tuple(TEXTS))
    return {"lang": lang, **{key: text.format(service=service) for key, text in TEXTS[lang].items()}}


class LocalizedLoginHandler(LoginHandler):
    """JupyterHub's login page, with ``hybridhub_login`` texts for hybridhub's login template."""

    @property
    def template_namespace(self):
        namespace = super().template_namespace
        namespace["hybridhub_login"] = login_texts(
            self.request.headers.get("Accept-Language"), self.authenticator.login_service
        )
        return namespace

    def set_default_headers(self):
        super().set_default_headers()
        self.set_header("Vary", "Accept-Language")
