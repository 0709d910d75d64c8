"""docs/storage.md "CORS for direct transfers": the per-bucket rule it gives (Ceph RGW, AWS S3) does
what it says on a real S3 store (SeaweedFS, which implements S3 PutBucketCors).

SeaweedFS (seaweedfs/seaweedfs 4.44, the tests run 4.48): weed/s3api/s3api_bucket_cors_handlers.go
stores a bucket's rules; weed/s3api/cors/middleware.go uses them before the server-wide
``-allowedOrigins`` fallback (``getCORSConfig``), answers a preflight whose origin no rule matches
403 AccessDenied, and a matched one with the rule's methods and ``ExposeHeaders``
(cors.go ``buildPreflightResponse``). The session's store runs with weed's default fallback (any
origin), so a refusal here comes from the documented rule alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import urllib3

pytestmark = pytest.mark.storage

DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"
HUB = "https://hub.corp.example"  # the docs' hub address
FIELDS = {"AllowedOrigins": "AllowedOrigin", "AllowedMethods": "AllowedMethod", "AllowedHeaders": "AllowedHeader",
          "ExposeHeaders": "ExposeHeader"}


def documented_rules() -> list[dict]:
    """The ``cors.json`` the docs write for ``aws s3api put-bucket-cors``."""
    section = DOC.read_text(encoding="utf-8").split("## CORS for direct transfers", 1)[1].split("\n## ", 1)[0]
    return json.loads(re.search(r"cat > cors\.json <<'JSON'\n(.*?)\nJSON\n", section, re.S).group(1))["CORSRules"]


def cors_xml(rules: list[dict]) -> bytes:
    """The S3 PutBucketCors body of the aws CLI's JSON form (the CLI sends the same XML)."""
    out = ['<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
    for rule in rules:
        out.append("<CORSRule>")
        for plural, singular in FIELDS.items():
            out += [f"<{singular}>{escape(value)}</{singular}>" for value in rule.get(plural, [])]
        if "MaxAgeSeconds" in rule:
            out.append(f"<MaxAgeSeconds>{int(rule['MaxAgeSeconds'])}</MaxAgeSeconds>")
        out.append("</CORSRule>")
    out.append("</CORSConfiguration>")
    return "".join(out).encode()


def _listed(header: str | None) -> set[str]:
    return {item.strip().lower() for item in (header or "").split(",") if item.strip()}


def _preflight(url: str, origin: str) -> urllib3.BaseHTTPResponse:
    return urllib3.request("OPTIONS", url, headers={"Origin": origin, "Access-Control-Request-Method": "PUT",
                                                    "Access-Control-Request-Headers": "content-type"})


def test_the_documented_bucket_rule_allows_the_hub_only_and_exposes_etag(object_store, admin, bucket):
    rules = documented_rules()
    assert [r["AllowedOrigins"] for r in rules] == [[HUB]] and "ETag" in rules[0]["ExposeHeaders"]
    body = cors_xml(rules)
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # PutBucketCors requires Content-MD5
    admin._execute("PUT", bucket, body=body, headers={"Content-MD5": md5}, query_params={"cors": ""})

    url = f"{object_store.endpoint}/{bucket}/uploads/part-probe"
    allowed = _preflight(url, HUB)
    assert allowed.status == 200, allowed.data
    assert allowed.headers["Access-Control-Allow-Origin"] == HUB
    assert "put" in _listed(allowed.headers["Access-Control-Allow-Methods"])
    assert "etag" in _listed(allowed.headers["Access-Control-Expose-Headers"])
    assert allowed.headers["Access-Control-Max-Age"] == str(rules[0]["MaxAgeSeconds"])

    # the bucket's rule replaces the server-wide "any origin": another page is refused
    refused = _preflight(url, "https://elsewhere.example")
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
