"""A generated corpus of fake secrets in realistic log lines, plus lines that must stay untouched.

Every secret is built here from a seeded ``random.Random`` in the documented shape of
its kind (prefix, alphabet, length; JWTs are real base64url JSON, PEM bodies real base64,
Basic auth real base64 of ``user:password``), so none of them is a real credential and
the corpus is the same on every run.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
PASSWORD = ALNUM + "!#^*_+-.?"


@dataclass(frozen=True)
class SecretCase:
    """``secret`` is the exact text that must not survive redaction of ``line``.

    ``also`` names other kinds the line legitimately contains (an access key id next to its secret).
    """

    kind: str
    secret: str
    line: str
    also: tuple[str, ...] = ()


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    """``n`` characters of ``alphabet``; with letters and digits available, both occur (real keys always mix)."""
    mixed = n >= 8 and any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet)
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if not mixed or (any(c.isdigit() for c in s) and any(c.isalpha() for c in s)):
            return s


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def fake_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def timestamp(rng: random.Random) -> str:
    return f"2024-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:" \
           f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z"


def password(rng: random.Random) -> str:
    return rng.choice(ALNUM) + rand(rng, PASSWORD, rng.randint(10, 18))


def jwt(rng: random.Random) -> str:
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": rand(rng, HEX, 8)}).encode())
    claims = {"sub": fake_uuid(rng), "iss": "https://auth.example.com",
              "exp": rng.randint(1_700_000_000, 1_900_000_000)}
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(rng.randbytes(64))}"


def pem(rng: random.Random, label: str) -> str:
    body = base64.b64encode(rng.randbytes(48 * 12)).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"


def _token_factories() -> dict[str, list[Callable[[random.Random], str]]]:
    """Free-standing tokens: recognisable by their own shape, whatever text surrounds them."""
    r = rand
    return {
        "aws_access_key_id": [lambda g: "AKIA" + r(g, UPPER + "234567", 16),
                              lambda g: "ASIA" + r(g, UPPER + "234567", 16)],
        "aws_session_token": [lambda g: "IQoJb3JpZ2luX2VjE" + r(g, B64, 320)],
        "slack_token": [lambda g: f"xoxb-{r(g, DIGITS, 11)}-{r(g, DIGITS, 13)}-{r(g, ALNUM, 24)}",
                        lambda g: f"xoxp-{r(g, DIGITS, 11)}-{r(g, DIGITS, 11)}-{r(g, DIGITS, 13)}-{r(g, HEX, 32)}",
                        lambda g: f"xapp-1-A{r(g, UPPER + DIGITS, 10)}-{r(g, DIGITS, 13)}-{r(g, HEX, 64)}"],
        "slack_webhook": [lambda g: f"https://hooks.slack.com/services/T{r(g, UPPER + DIGITS, 8)}/"
                                    f"B{r(g, UPPER + DIGITS, 10)}/{r(g, ALNUM, 24)}"],
        "github_token": [lambda g: "ghp_" + r(g, ALNUM, 36), lambda g: "ghs_" + r(g, ALNUM, 36),
                         lambda g: f"github_pat_{r(g, ALNUM, 22)}_{r(g, ALNUM, 59)}"],
        "gitlab_token": [lambda g: "glpat-" + r(g, URLSAFE, 20), lambda g: "glrt-" + r(g, URLSAFE, 20)],
        "openai_api_key": [lambda g: f"sk-proj-{r(g, URLSAFE, 74)}T3BlbkFJ{r(g, URLSAFE, 74)}",
                           lambda g: f"sk-{r(g, ALNUM, 20)}T3BlbkFJ{r(g, ALNUM, 20)}"],
        "anthropic_api_key": [lambda g: f"sk-ant-api03-{r(g, URLSAFE, 93)}AA"],
        "google_api_key": [lambda g: "AIza" + r(g, URLSAFE, 35)],
        "google_oauth_token": [lambda g: "ya29." + r(g, URLSAFE, 120), lambda g: "GOCSPX-" + r(g, URLSAFE, 28)],
        "stripe_key": [lambda g: "sk_live_" + r(g, ALNUM, 24), lambda g: "rk_test_" + r(g, ALNUM, 32),
                       lambda g: "whsec_" + r(g, ALNUM, 32)],
        "twilio_key": [lambda g: "SK" + r(g, HEX, 32)],
        "sendgrid_key": [lambda g: f"SG.{r(g, URLSAFE, 22)}.{r(g, URLSAFE, 43)}"],
        "npm_token": [lambda g: "npm_" + r(g, ALNUM, 36)],
        "pypi_token": [lambda g: "pypi-AgEIcHlwaS5vcmc" + r(g, URLSAFE, 70)],
        "jwt": [jwt],
        "grafana_token": [lambda g: f"glsa_{r(g, ALNUM, 32)}_{r(g, HEX, 8)}", lambda g: "glc_" + r(g, B64, 60) + "="],
        "digitalocean_token": [lambda g: "dop_v1_" + r(g, HEX, 64)],
        "huggingface_token": [lambda g: "hf_" + r(g, ALNUM, 34)],
        "databricks_token": [lambda g: "dapi" + r(g, HEX, 32)],
        "shopify_token": [lambda g: "shpat_" + r(g, HEX, 32), lambda g: "shpss_" + r(g, HEX, 32)],
        "vault_token": [lambda g: "hvs." + r(g, URLSAFE, 92)],
        "terraform_token": [lambda g: f"{r(g, ALNUM, 14)}.atlasv1.{r(g, URLSAFE, 67)}"],
        "pulumi_token": [lambda g: "pul-" + r(g, HEX, 40)],
        "sentry_token": [lambda g: "sntryu_" + r(g, HEX, 64)],
        "new_relic_key": [lambda g: "NRAK-" + r(g, UPPER + DIGITS, 27)],
        "heroku_api_key": [lambda g: "HRKU-AA" + r(g, URLSAFE, 58)],
        "mailchimp_key": [lambda g: f"{r(g, HEX, 32)}-us{g.randint(1, 21)}"],
        "sendinblue_key": [lambda g: f"xkeysib-{r(g, HEX, 64)}-{r(g, ALNUM, 16)}"],
        "atlassian_token": [lambda g: "ATATT3" + r(g, URLSAFE, 180) + "=" + r(g, HEX, 8)],
        "postman_key": [lambda g: f"PMAK-{r(g, HEX, 24)}-{r(g, HEX, 34)}"],
        "linear_key": [lambda g: "lin_api_" + r(g, ALNUM, 40)],
        "age_secret_key": [lambda g: "AGE-SECRET-KEY-1" + r(g, BECH32, 58)],
        "doppler_token": [lambda g: "dp.pt." + r(g, ALNUM, 43)],
        "dynatrace_token": [lambda g: f"dt0c01.{r(g, UPPER + DIGITS, 24)}.{r(g, UPPER + DIGITS, 64)}"],
        "square_token": [lambda g: "sq0atp-" + r(g, URLSAFE, 22), lambda g: "EAAA" + r(g, URLSAFE, 60)],
        "facebook_token": [lambda g: "EAACEdEose0cBA" + r(g, ALNUM, 120)],
        "telegram_bot_token": [lambda g: f"{g.randint(10**8, 10**10 - 1)}:AA{r(g, URLSAFE, 33)}"],
        "artifactory_key": [lambda g: "AKCp" + r(g, ALNUM, 69)],
        "rubygems_token": [lambda g: "rubygems_" + r(g, HEX, 48)],
        "planetscale_token": [lambda g: "pscale_tkn_" + r(g, URLSAFE, 43)],
        "openshift_token": [lambda g: "sha256~" + r(g, URLSAFE, 43)],
        "alibaba_access_key_id": [lambda g: "LTAI" + r(g, ALNUM, 20)],
        "azure_ad_client_secret": [lambda g: f"{r(g, ALNUM, 3)}{g.randint(0, 9)}Q~{r(g, ALNUM + '_~.-', 33)}x"],
        "microsoft_teams_webhook": [lambda g: f"https://contoso.webhook.office.com/webhookb2/{fake_uuid(g)}@"
                                              f"{fake_uuid(g)}/IncomingWebhook/{r(g, HEX, 32)}/{fake_uuid(g)}"],
        "discord_webhook": [lambda g: f"https://discord.com/api/webhooks/{r(g, DIGITS, 18)}/{r(g, URLSAFE, 68)}"],
    }


_FREE_TEMPLATES = (
    '{{"ts":"{ts}","level":"error","logger":"app.client","msg":"upstream call failed",'
    '"detail":"auth rejected for {s}","request_id":"{rid}"}}',
    '{ts} WARN pid=4121 worker=sync-3 msg="retrying with stored credential" cred={s} dur=87ms',
    'Traceback (most recent call last):\n  File "/app/client.py", line 88, in call\n'
    '    resp = session.post(url, headers={{"X-Auth": "{s}"}})\nRuntimeError: 401 from upstream using {s}',
    '10.0.3.41 - - [01/May/2024:12:00:00 +0000] "GET /v1/export?key={s}&page=2 HTTP/1.1" 200 512',
    'DEBUG http.client send: {{"Authorization": "Bearer {s}", "X-Request-Id": "{rid}"}}',
)


def _context_cases(g: random.Random) -> Iterator[SecretCase]:
    """Kinds that are secret because of the words around them."""
    aws = "aws_secret_access_key"
    for fmt in ("export AWS_SECRET_ACCESS_KEY={s}", '{{"Credentials": {{"SecretAccessKey": "{s}", "Expiration": 1}}}}',
                "$ aws configure set aws_secret_access_key {s} --profile prod"):
        s = rand(g, ALNUM + "+/", 40)
        yield SecretCase(aws, s, fmt.format(s=s))
    s = rand(g, ALNUM + "+/", 40)
    yield SecretCase(aws, s, f"AKIA{rand(g, UPPER + '234567', 16)},{s}", also=("aws_access_key_id",))
    s = rand(g, B64, 356)
    yield SecretCase("aws_session_token", s, f"aws_session_token = {s}")
    s = quote(rand(g, B64, 300), safe="")
    yield SecretCase("aws_session_token", s, f"GET https://b.s3.amazonaws.com/k?X-Amz-Security-Token={s}&X-Amz-Expires=9")
    for key in ("DD_API_KEY=", "DD-API-KEY: ", "datadog_api_key: "):
        s = rand(g, HEX, 32)
        yield SecretCase("datadog_key", s, f"{timestamp(g)} INFO agent config {key}{s} site=datadoghq.eu")
    s = fake_uuid(g)
    yield SecretCase("heroku_api_key", s, f"HEROKU_API_KEY={s} heroku ps:scale web=2")
    s = rand(g, B64, 86) + "=="
    yield SecretCase("azure_storage_key", s, "DefaultEndpointsProtocol=https;AccountName=prodlogs;"
                                             f"AccountKey={s};EndpointSuffix=core.windows.net")
    s = rand(g, HEX, 64)
    yield SecretCase("url_signature", s, "PUT https://logs.s3.amazonaws.com/x.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                                         f"&X-Amz-SignedHeaders=host&X-Amz-Signature={s} 403")
    s = rand(g, HEX, 64)
    yield SecretCase("url_signature", s, "Authorization: AWS4-HMAC-SHA256 Credential="
                                         f"ASIA{rand(g, UPPER, 16)}/20240501/"
                                         f"us-east-1/s3/aws4_request, SignedHeaders=host, Signature={s}",
                     also=("aws_access_key_id",))
    s = quote(base64.b64encode(g.randbytes(32)).decode(), safe="")
    yield SecretCase("url_signature", s, f"https://acct.blob.core.windows.net/c/b.log?sv=2022-11-02&sp=r&sig={s}")
    s = base64.b64encode(f"AWS:{password(g)}".encode()).decode()
    yield SecretCase("registry_auth", s, f'{{"auths": {{"1234.dkr.ecr.us-east-1.amazonaws.com": {{"auth": "{s}"}}}}}}')
    s = base64.b64encode(f"deploy:{password(g)}".encode()).decode()
    yield SecretCase("basic_auth_header", s, f"> GET /api/health HTTP/1.1\n> Authorization: Basic {s}\n> Accept: */*")
    s = rand(g, ALNUM, 40)
    yield SecretCase("bearer_token", s, f"curl -sS -H 'Authorization: Bearer {s}' https://api.internal/v1/jobs")
    for kind, url in (
        ("db_connection_string", "postgresql://orders:{p}@orders-db.cluster-c8x2k1.rds.amazonaws.com:5432/orders"),
        ("db_connection_string", "mongodb+srv://app:{p}@cluster0.ab1cd.mongodb.net/prod?retryWrites=true"),
        ("db_connection_string", "redis://:{p}@cache.internal:6379/0"),
        ("db_connection_string", "jdbc:mysql://report:{p}@10.0.9.12:3306/bi"),
        ("password_in_url", "https://deploy:{p}@git.example.com/org/infra.git"),
        ("password_in_url", "ftp://backup:{p}@files.example.net/dumps/"),
    ):
        p = rand(g, ALNUM + "-_.~", 16)  # the characters allowed unencoded in URL userinfo
        yield SecretCase(kind, p, f"{timestamp(g)} ERROR connect failed url={url.format(p=p)}")
    for fmt in ("password={p} user=app host=db", '{{"db_password": "{p}", "db_user": "app"}}',
                "mysqldump --user root --password {p} orders", "PGPASSWORD={p} psql -h db -U app",
                "ALTER USER app IDENTIFIED BY '{p}';", "curl -u admin:{p} https://jenkins.internal/api",
                "{{'user': 'svc', 'passwd': '{p}'}}", "spring.datasource.password: {p}", "mysql -u root -p{p} shop"):
        p = password(g)
        yield SecretCase("password_assignment", p, f"{timestamp(g)} DEBUG cfg {fmt.format(p=p)}")
    for fmt in ("client_secret={s}&grant_type=client_credentials", '"api_key": "{s}"', "x-api-key: {s}",
                "GET /oauth/cb?access_token={s}&state=xyz", "vault login --token {s}", "SECRET_KEY='{s}'"):
        s = rand(g, URLSAFE, 32)
        yield SecretCase("secret_assignment", s, f"{timestamp(g)} INFO {fmt.format(s=s)}")
    for label in ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"):
        block = pem(g, label)
        body = block.split("\n", 1)[1].rsplit("\n", 1)[0]
        yield SecretCase("private_key", body, f"{timestamp(g)} ERROR loaded key from env:\n{block}\nstarting tls")
    block = pem(g, "PRIVATE KEY")
    escaped_body = json.dumps(block.split("\n", 1)[1].rsplit("\n", 1)[0])[1:-1]
    yield SecretCase("private_key", escaped_body, json.dumps({"type": "service_account", "private_key": block}))
    s = base64.b64encode(pem(g, "RSA PRIVATE KEY").encode()).decode()
    yield SecretCase("private_key", s, f"users:\n- name: admin\n  user:\n    client-key-data: {s}")


def unusual_cases(g: random.Random) -> Iterator[SecretCase]:
    """Shapes a red team got past the first rule set (issue 16): older AWS tokens, auth schemes beyond
    Basic/Bearer, cookies, passwords with '/' or '+' or in "user/password@host", prose, URL encoding,
    more vendors' tokens, and random values under keys no rule names."""
    ts = timestamp(g)
    for head in ("FQoDYXdzE", "AQoDYXdzE", "FwoGZXIvYXdzE", "IgoJb3JpZ2luX2VjE", "AQoEXAMPLE"):
        s = head + rand(g, B64, 300)
        yield SecretCase("aws_session_token", s, f"{ts} DEBUG assumed role, credentials {s} cached")
    s = "IQoJb3JpZ2luX2VjE" + rand(g, B64, 300)
    yield SecretCase("aws_session_token", s, f"$ aws configure set aws_session_token {s} --profile prod")
    s = rand(g, B64, 200)
    yield SecretCase("aws_session_token", s, f"aws sts ... --session-token {s}")
    for scheme, s in (("token", rand(g, HEX, 40)), ("SSWS", "00" + rand(g, URLSAFE, 40)),
                      ("ApiKey", rand(g, B64, 44)), ("Splunk", fake_uuid(g)), ("Bot", rand(g, URLSAFE, 59)),
                      ("Negotiate", rand(g, B64, 80)), ("Key", rand(g, ALNUM, 32)),
                      ("Token token=", rand(g, HEX, 32))):
        yield SecretCase("auth_header", s, f"{ts} DEBUG > Authorization: {scheme} {s}".replace("= ", "="))
    s = rand(g, B64, 44)
    yield SecretCase("auth_header", s, f'{{"headers": {{"authorization": "ApiKey {s}", "accept": "*/*"}}}}')
    s = "00" + rand(g, URLSAFE, 40)
    yield SecretCase("auth_header", s, f"okta call failed; retry with SSWS {s}")
    s = rand(g, URLSAFE, 32)
    yield SecretCase("cookie", s, f"{ts} > Cookie: _ga=GA1.2.3; sessionid={s}; theme=dark")
    s = rand(g, URLSAFE, 40)
    yield SecretCase("cookie", s, f"{ts} < Set-Cookie: __Host-session={s}; Path=/; Secure; HttpOnly; SameSite=Lax")
    for fmt in ("postgresql://app:{p}@db.internal:5432/orders", "mongodb://root:{p}@mongo-0.mongo:27017/admin"):
        p = rand(g, ALNUM, 8) + "/" + rand(g, ALNUM, 4) + "+" + rand(g, ALNUM, 6)
        yield SecretCase("db_connection_string", p, f"{ts} ERROR connect {fmt.format(p=p)} refused")
    for fmt in ("sqlplus scott/{p}@//db01.example.com:1521/ORCLPDB1", "jdbc:oracle:thin:scott/{p}@db01:1521:ORCL",
                "expdp userid=system/{p}@orcl directory=DUMP", "sqlplus -s admin/{p}@prod"):
        p = password(g)
        yield SecretCase("password_assignment", p, f"{ts} INFO run: {fmt.format(p=p)}")
    for fmt in ("the new password is {p}.", "DB password for orders was: {p}", "login with password {p} failed",
                "admin password changed to {p}", "your temporary password is '{p}'"):
        p = password(g)
        yield SecretCase("password_assignment", p, f"{ts} INFO {fmt.format(p=p)}")
    s = rand(g, URLSAFE, 32)
    yield SecretCase("secret_assignment", s, f"{ts} INFO the api key is {s}, keep it safe")
    p = password(g)
    yield SecretCase("password_assignment", quote(p, safe=""),
                     f"POST /login body=user%3Dbob%26password%3D{quote(p, safe='')}%26next%3D%2F")
    s = rand(g, URLSAFE, 32)
    yield SecretCase("secret_assignment", s, f"q=%7B%22client_secret%22%3A%22{s}%22%7D")
    for s in ("dckr_pat_" + rand(g, URLSAFE, 27), "figd_" + rand(g, URLSAFE, 40), "sbp_" + rand(g, HEX, 40),
              "gsk_" + rand(g, ALNUM, 52), "r8_" + rand(g, ALNUM, 37), "tskey-auth-" + rand(g, ALNUM, 30),
              "ntn_" + rand(g, DIGITS, 11) + rand(g, ALNUM, 35), "key-" + rand(g, HEX, 32),
              "pat-na1-" + fake_uuid(g), "xai-" + rand(g, ALNUM, 80), "pcsk_" + rand(g, ALNUM, 60),
              "AstraCS:" + rand(g, UPPER + LOWER, 24) + ":" + rand(g, HEX, 64)):
        yield SecretCase("vendor_token", s, f"{ts} WARN upstream rejected credential {s} (401)")
    for prefix in ("zq", "acme", "wxyz_live"):  # vendors no rule names: a prefix and a long random body
        s = f"{prefix}_{rand(g, ALNUM, 40)}"
        yield SecretCase("vendor_token", s, f"{ts} WARN auth failed for {s}")
    p = rand(g, ALNUM, 6) + "@" + rand(g, ALNUM, 4) + "/" + rand(g, ALNUM, 6)  # '@' and '/' unencoded
    yield SecretCase("db_connection_string", p, f"{ts} ERROR dial mongodb://app:{p}@mongo-0:27017/admin failed")
    s = rand(g, ALNUM, 40)
    yield SecretCase("password_in_url", s, f"{ts} INFO git fetch https://{s}@git.example.com/org/infra.git")
    p = password(g)
    yield SecretCase("password_assignment", p, f"machine api.example.com login deploy@example.com password {p}")
    s = rand(g, ALNUM + "+/", 32)
    yield SecretCase("secret_assignment", s, f"{ts} WARN the signing key is {s} (rotate it)")
    body = "\n".join(rand(g, B64, 64) for _ in range(3))
    yield SecretCase("private_key", body, f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 3\n"
                                          f"{body}\nPrivate-MAC: {rand(g, HEX, 64)}")
    s = f"xoxc-{rand(g, DIGITS, 11)}-{rand(g, DIGITS, 12)}-{rand(g, DIGITS, 13)}-{rand(g, HEX, 64)}"
    yield SecretCase("slack_token", s, f"{ts} DEBUG client token {s}")
    for s in ("MT" + rand(g, ALNUM, 24) + "." + rand(g, URLSAFE, 6) + "." + rand(g, URLSAFE, 38),
              "1//0" + rand(g, URLSAFE, 60)):
        yield SecretCase("vendor_token", s, f"{ts} WARN upstream rejected credential {s} (401)")
    p = password(g)
    yield SecretCase("password_assignment", p, f"{ts} DEBUG <config><db><user>app</user><password>{p}</password></db>")
    s = rand(g, ALNUM, 32)
    yield SecretCase("secret_assignment", s, f"<soap:Header><auth:ApiKey>{s}</auth:ApiKey></soap:Header>")
    block = quote(pem(g, "RSA PRIVATE KEY"), safe="")
    body = block.split("%0A", 1)[1].rsplit("%0A", 1)[0]
    yield SecretCase("private_key", body, f"POST /certs body=name%3Dapi%26key%3D{block}%26ttl%3D3600")
    for s in ("AKID" + rand(g, ALNUM, 32), "tfp_" + rand(g, URLSAFE, 59)):
        yield SecretCase("vendor_token", s, f"{ts} WARN upstream rejected credential {s} (401)")
    p = password(g)
    yield SecretCase("password_assignment", p, f"{ts} DEBUG smtp user=alerts pw={p} host=mail.internal")
    for key in ("X-Upstream-Signature", "session_blob", "HMAC", "dsn_token_blob"):
        s = rand(g, ALNUM + "+/", 40)
        yield SecretCase("high_entropy_value", s, f"{ts} DEBUG {key}={s} status=403")


def hard_negatives() -> list[str]:
    """Lines near the new rules that must come out unchanged (the false-positive guard)."""
    return [
        "Authorization: Bearer", "authorization failed for user bob: policy denies s3:GetObject",
        "Authorization header missing; returning 401", "authorization: none",
        "cookie consent banner: accepted", "Set-Cookie header too large (8192 bytes), dropped",
        "password is incorrect", "Password is required.", "password was changed by admin",
        "the password is too-short", "password is expired", "login with password failed", "enter password:",
        "the token is expired", "api key is missing", "secret is not set",
        "library/nginx@sha256:" + "ab" * 32, "pulled 123.dkr.ecr.us-east-1.amazonaws.com/api@sha256:" + "cd" * 32,
        "mail to jane@example.com cc bob@corp.example.org", "images/logo@2x.png served in 3ms",
        "uses: actions/checkout@v4", "refs/heads/main@{1}", "node_modules/@babel/core/lib/index.js",
        "https://example.com:443/users/@alice/profile", "http://10.0.0.1:8080/health -> 200",
        "checkout-7d9f8b6c5d-x2x9q Running", "request_id=0f8fad5b-d9cb-469f-a165-70867728950e",
        "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "etag=\"d41d8cd98f00b204e9800998ecf8427e\"", "trace_id=1-5759e988-bd862e3fe1be46a994272793",
        "class=org.apache.hadoop.hdfs.server.datanode.DataNode", "instance=i-0abc1234def567890 state=running",
        "get_UserAccountSettingsForTenant2 called", "version=v1.2.3-rc4+build.5678",
        "path=/api/v1/orders/12345?limit=50&cursor=abc", "blk_-1608999687919862906 replicated",
        "user=bob action=password_reset status=ok", "mysql -u root -p shop",
        "postgres://localhost:5432/orders", "Connection: keep-alive; Accept: */*",
        "level=info msg=\"cache warmed\" keys=1200 took=35ms", "spark.executor.memory=4g",
        "<Contents><Key>logs/2024/05/01/app-7f3a9c1d.log.gz</Key><Size>5120</Size></Contents>",
        "<Error><Code>NoSuchKey</Code><Key>exports/orders-2024-05.csv</Key></Error>",
        "x-amz-id-2: Q7PRJ5WkmZ8oVJR4Rkk9nNqT9bbAT6rv0k6ZkyeL2f0t2k7XplR8x+Fk3Z8h5CThD0fhnQHbM3U=",
        "requestId=Q7PRJ5WkmZ8oVJR4Rkk9nNqT9bbAT6rv0k6Zky traceId: 4bf92f3577b34da6a3ce929d0e0e4736Aa9",
        '<script integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC">',
    ]


def build_corpus(seed: int = 1337) -> list[SecretCase]:
    """Every kind, each embedded in several log formats (JSON, key=value, trace, URL, header)."""
    g = random.Random(seed)
    cases = []
    for kind, factories in _token_factories().items():
        for factory in factories:
            for template in _FREE_TEMPLATES:
                secret = factory(g)
                cases.append(SecretCase(kind, secret, template.format(s=secret, ts=timestamp(g),
                                                                      rid=fake_uuid(g))))
    cases.extend(_context_cases(g))
    cases.extend(unusual_cases(g))
    return cases


def benign_lines(seed: int = 7, n: int = 200) -> list[str]:
    """Ordinary log lines full of ids, hashes, ARNs and numbers that look random but are not secrets."""
    g = random.Random(seed)
    acct = rand(g, DIGITS, 12)

    def one() -> str:
        u, sha1, sha256 = fake_uuid(g), rand(g, HEX, 40), rand(g, HEX, 64)
        inst, ami, ip = "i-0" + rand(g, HEX, 16), "ami-0" + rand(g, HEX, 16), ".".join(
            str(g.randint(1, 254)) for _ in range(4))
        ts, n = timestamp(g), g.randint(0, 99999)
        return g.choice((
            f"{ts} INFO request_id={u} method=GET path=/api/v1/orders/{n} status=200 duration_ms={n % 900}",
            f"START RequestId: {u} Version: $LATEST",
            f"REPORT RequestId: {u}\tDuration: {n / 100:.2f} ms\tBilled Duration: {n % 90 + 1} ms\t"
            f"Memory Size: 128 MB\tMax Memory Used: 70 MB",
            f"x-amzn-RequestId: {u} x-amz-request-id: {rand(g, UPPER + DIGITS, 16)}",
            f"commit {sha1}\nAuthor: Jane Doe <jane@example.com>\nDate: {ts}",
            f"pulled image 123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:{sha256}",
            f'ETag: "{rand(g, HEX, 32)}" Content-Length: {n}',
            f"Instance {inst} ({ami}) in subnet-0{rand(g, HEX, 16)} changed state from pending to running",
            f"assumed arn:aws:iam::{acct}:role/service-role/checkout-lambda-role session ops-{n}",
            f"rotated arn:aws:secretsmanager:us-east-1:{acct}:secret:prod/db/password-{rand(g, ALNUM, 6)}",
            f"decrypt with arn:aws:kms:us-east-1:{acct}:key/{u} ok",
            f"read arn:aws:ssm:us-east-1:{acct}:parameter/prod/api/token version {n % 40}",
            f"Connection from {ip}:{n % 65535} to 2001:db8::ff00:42:8329 port 443 closed",
            f"Task timed out after {n % 30}.00 seconds",
            f'{ip} - - [01/May/2024:12:00:00 +0000] "GET /api/v1/users/{n}/sessions?limit=50&cursor={n} '
            f'HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"',
            f"log group /aws/lambda/checkout-token-refresher stream 2024/05/01/[$LATEST]{rand(g, HEX, 32)}",
            f"model usage prompt_tokens={n} completion_tokens={n % 700} total_tokens={n + n % 700}",
            f'{{"level":"info","msg":"KMS key rotated","KeyId":"{u}","KeyState":"Enabled"}}',
            f"user=bob action=password_reset status=ok ip={ip}",
            f"sshd[{n}]: Failed password for invalid user admin from {ip} port {n % 65535} ssh2",
            f"Deployed version v1.{n % 20}.{n % 7} ({sha1[:7]}) to prod in {n % 300}s",
            f"cache key=user:{n}:profile hit=true ttl=300s",
            f"Pod checkout-7d9f8b6c5d-x2x9q OOMKilled (exit code 137) at {ts}",
            f's3://prod-logs/2024/05/01/app-{u}.log.gz size={n} sha256={sha256}',
            "Basic health check passed; Bearer token validation failed: expired",
            f"token refresh scheduled in {n % 600}s; secret rotation completed; max_tokens=4096",
            f"{ts} WARN p99={n % 2000}ms p50={n % 300}ms error_rate=0.{n % 100:02d} cpu=87.5%",
            f"epoch={1714564800123 + n} seq=49590338271490256608559692538361571095921575989136588898",
        ))

    return [one() for _ in range(n)]


def synthetic_mix(n: int = 100_000, secret_ratio: float = 0.01, seed: int = 99) -> list[str]:
    """``n`` ordinary lines with about ``secret_ratio`` of them carrying a secret (throughput measurement)."""
    g = random.Random(seed)
    benign = benign_lines(seed, 2000)
    secret_lines = [c.line for c in build_corpus(seed)]
    return [g.choice(secret_lines) if g.random() < secret_ratio else g.choice(benign) for _ in range(n)]
