"""The secret-detection rule table behind :mod:`bot.text.redact`.

Sources. The token shapes come from gitleaks' published default rule set
(``config/gitleaks.toml``, MIT), e.g. its ``aws-access-token``, ``github-pat``,
``github-fine-grained-pat``, ``slack-bot-token``, ``gitlab-pat``, ``private-key``,
``jwt``, ``openai-api-key``, ``anthropic-api-key``, ``gcp-api-key``, ``stripe-access-token``,
``twilio-api-key``, ``sendgrid-api-token``, ``npm-access-token``, ``pypi-upload-token``
rules; several gitleaks ids fold into one kind here (all ``slack-*`` token rules are
``slack_token``). The key=value, AWS-secret, Azure storage key and Basic-auth rules follow
Yelp detect-secrets' plugins (``keyword.py`` denylist, ``aws.py``, ``azure_storage_key.py``,
``basic_auth.py``). They are adapted rather than copied: gitleaks scans a repository once
and can afford ~150 loose "generic" vendor rules with a long stopword list; we redact
every line that leaves the process, so each rule here is anchored on literal keywords
(which gate it) and the loose vendor-keyword rules are folded into one key=value rule
with a value check (entropy, not a placeholder, not a plain word).

Why not depend on detect-secrets itself: it reports findings but does not replace them,
picks heuristics by filename, and runs every plugin on every line; it is built for
scanning repositories, not for a per-line budget of tens of thousands of lines a second.

A rule's optional named group ``v`` (or ``v2``/``v3`` for quoted variants) is the part
that gets replaced; the key around it is kept so the log stays readable. ``kind`` values
are a fixed set of snake_case names (they become Prometheus label values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.text.redact_checks import (
    b64_private_key,
    b64_user_pass,
    cookie_value,
    credential_value,
    has_digit_and_letter,
    password_value,
    random_looking,
    secret_value,
    spoken_password,
)

__all__ = ["KINDS", "MAX_BLANKS", "RULES", "Rule"]


def _always(_value: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Rule:
    """One detector, tried only where one of its ``keywords`` occurs in the lowercased text.

    The regex is tried with ``match`` at ``offset`` characters before a keyword hit (0: the
    keyword begins the match), so a line costs a handful of anchored attempts rather than
    a scan per rule. When the part before the keyword varies in length (a URL's host, a
    bot id), ``left`` matches it backwards from the hit: it is searched in the 96
    characters before the match and must end there (``\\Z``); no match means no finding.
    A rule with no keywords is searched over the whole text instead (its trigger is too common).
    """

    kind: str
    regex: re.Pattern[str]
    keywords: tuple[str, ...]
    accept: Callable[[str], bool] = _always
    offset: int = 0
    left: re.Pattern[str] | None = None
    value_groups: tuple[str, ...] = ()  # which of v/v2/v3 the regex has (filled in by _r)


# --- regex building blocks --------------------------------------------------------------

_B = r"(?<![A-Za-z0-9_])"  # token start: not glued to a word character
_E = r"(?![A-Za-z0-9_])"
_BD = r"(?<![\w-])"  # same, for tokens whose alphabet includes '-'
_ED = r"(?![\w-])"
# Every run of blanks a rule may cross is bounded: Redactor shortens longer runs to MAX_BLANKS before
# matching, so the bound loses nothing, and a match's reach (see max_lookback) stays finite.
MAX_BLANKS = 32
_W = rf"[ \t]{{0,{MAX_BLANKS}}}"  # optional blanks
_W1 = rf"(?:[ \t]{{1,{MAX_BLANKS}}}|%20|\+(?=\S))"  # at least one blank, or its URL encoding
_Q = r"""(?:\\?["']|%(?:25)?2[27])"""  # a quote, escaped in JSON-in-JSON or URL-encoded
_KEY_END = rf"{_Q}?"  # the closing quote of a quoted key (JSON, repr, JSON inside JSON, URL-encoded)
_SEP = rf"(?:{_W}(?:=>|:=|[=:]){_W}|%(?:25)?3[DdAa](?:%(?:25)?20|\+)?)"
_OPEN_Q = rf"{_Q}?"
_VALUE = (
    r"""(?:%(?:25)?2[27])?(?:\\?"(?P<v2>(?:[^"\\\n]|\\[^"\n]){1,4096})\\?"|\\?'(?P<v3>[^'\\\n]{1,4096})\\?'"""
    r"""|(?P<v>[^\s"'`\\,;&<>\[\]{}()]{1,4096}))"""
)
_FLAG = r"(?:(?<=(?<!\S)--)|(?<=(?<!\S)-))"  # right after a command-line "-" or "--"
_FLAG_VALUE = (rf"""[ \t]{{1,{MAX_BLANKS}}}(?:"(?P<v2>[^"\n]{{1,4096}})"|'(?P<v3>[^'\n]{{1,4096}})'"""
               r"""|(?P<v>[^\s"'-][^\s"']{0,4096}))""")
_PW_WORDS = r"(?:pass(?:word|wd|phrase|code)|(?<![A-Za-z])pass|(?<![A-Za-z])pwd|(?<![A-Za-z])pw(?![A-Za-z]))"
_KEY_BASES = ("api", "app", "auth", "access", "secret", "private", "client", "account", "master",
              "encryption", "signing", "service", "subscription", "license")
_SECRET_KEYS = rf"(?:secret|token|credentials?|(?:{'|'.join(_KEY_BASES)})[_.-]?key)"
_SECRET_WORDS = "secret token credential " + " ".join(f"{b}{s}key" for b in _KEY_BASES for s in ("", "_", "-", "."))
# userinfo password: anything up to the last '@' before the host, '/' and '+' included; a port ("host:443/")
# is not a password
_URL_USERINFO = r"""://[^\s:/@'"<>\[\]]{0,128}:(?!\d{1,5}(?:/|$))(?P<v>[^\s'"<>]{1,512})@(?=[\w\[.-])"""
_DB_SCHEMES = ("postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp",
               "amqps", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "cassandra", "neo4j",
               "couchdb", "memcached")
_AFTER_DB_SCHEME = "(?i:" + "|".join(f"(?<={re.escape(s)})" for s in _DB_SCHEMES) + ")"
# upper, lower and digit all within the run of ``c`` ahead: checked by the regex engine, so ids and hashes
# (one case, or no digit) are dropped before any Python-level check
_MIXED = "(?={c}{{0,4096}}?[A-Z])(?={c}{{0,4096}}?[a-z])(?={c}{{0,4096}}?[0-9])"
_MIXED_WORD = _MIXED.format(c=r"[\w-]")
_MIXED_VALUE = _MIXED.format(c=r"[A-Za-z0-9+/_~.-]")
# keys whose random-looking values are ids, digests or cursors, not credentials (x-amz-id-2, etag, integrity)
_ID_KEY = (r"(?![\w.-]{0,40}?(?i:session|auth|secret|token|key))"
           r"[\w.-]{0,40}?(?:(?<![A-Za-z])(?i:ids?)|Ids?|IDs?|(?i:uuid|guid|hash|digest|checksum|etag|integrity"
           r"|sha\d*|md5|crc\d*|cursor|nonce|version|trace|span))(?:[_.-]?\d)?(?:\\?[\"']|%(?:25)?2[27])?[ \t]{0,32}\Z")
# a natural-language value: ends before trailing punctuation
_WORD_VALUE = r"""["'`]?(?P<v>[^\s"'`]{1,512}?)["'`]?(?=[.,;:!?)]*(?:\s|$))"""


def _seps(*words: str) -> str:
    """Keyword spellings with the separators people put between words: a_b a-b a.b ab."""
    out = []
    for word in words:
        head, _, tail = word.partition(" ")
        out += [f"{head}{sep}{tail}" for sep in ("_", "-", ".", "")] if tail else [head]
    return " ".join(out)


def _kv(key: str, value: str) -> str:
    """``key`` (case-insensitive) then a separator, optional quote and the value group ``v``."""
    return rf"(?<![:/])(?i:{key}){_KEY_END}{_SEP}{_OPEN_Q}(?P<v>{value})"


def _r(kind: str, pattern: str, keywords: str, accept: Callable[[str], bool] = _always,
       offset: int = 0, left: str | None = None) -> Rule:
    regex = re.compile(pattern)
    groups = tuple(name for name in ("v", "v2", "v3") if name in regex.groupindex)
    return Rule(kind, regex, tuple(keywords.split()), accept, offset,
                None if left is None else re.compile(left + r"\Z"), groups)


# Free-standing tokens of more vendors (gitleaks rule ids in brackets), one kind: their prefixes say enough.
_VENDOR_TOKENS: tuple[tuple[str, str], ...] = (
    ("dckr_pat_", r"[\w-]{27,}"),  # [docker-hub-pat]
    ("ntn_", r"\d{11}[A-Za-z0-9]{35}"), ("secret_", r"[A-Za-z0-9]{43}"),  # [notion-api-token]
    ("key-", r"[a-f0-9]{32}"),  # [mailgun-private-api-token]
    ("figd_", r"[\w-]{40}"),  # figma
    ("sgp_", r"(?:[a-f0-9]{16}_)?[a-f0-9]{40}"),  # [sourcegraph-access-token]
    ("fo1_", r"[\w-]{43}"), ("fm2_", r"[A-Za-z0-9+/]{100,}={0,3}"),  # [flyio]
    ("sbp_", r"[a-f0-9]{40}"), ("nfp_", r"[A-Za-z0-9]{36}"), ("rnd_", r"[A-Za-z0-9]{32}"),
    ("gsk_", r"[A-Za-z0-9]{52}"), ("r8_", r"[A-Za-z0-9]{37}"), ("xai-", r"[A-Za-z0-9]{80}"),
    ("pplx-", r"[A-Za-z0-9]{48}"), ("nvapi-", r"[\w-]{64}"), ("pcsk_", r"[\w]{40,}"),
    ("lsv2_pt_", r"[a-f0-9]{32}_[a-f0-9]{10}"), ("lsv2_sk_", r"[a-f0-9]{32}_[a-f0-9]{10}"),
    ("tskey-", r"(?:auth|api|client|scim|webhook)-[\w-]{20,}"),  # tailscale
    ("bkua_", r"[a-f0-9]{40}"), ("CCIPAT_", r"[A-Za-z0-9]{22}_[a-f0-9]{40}"),  # buildkite, circleci
    ("ATBB", r"[A-Za-z0-9_=.-]{28,}"), ("ATCTT3", r"[\w=-]{100,}"),  # [bitbucket], atlassian cloud
    ("pat-na1-", r"[a-f0-9-]{36}"), ("pat-eu1-", r"[a-f0-9-]{36}"),  # [hubspot]
    ("CFPAT-", r"[\w-]{43}"),  # [contentful-delivery-api-token]
    ("dnkey-", r"[\w=-]{26}-[\w=-]{52}"), ("EZAK", r"[A-Za-z0-9]{54}"), ("EZTK", r"[A-Za-z0-9]{54}"),
    ("FLWSECK_TEST-", r"[a-h0-9]{32}-X"), ("FLWSECK-", r"[a-h0-9]{32}-X"),  # [flutterwave]
    ("shippo_live_", r"[a-f0-9]{40}"), ("shippo_test_", r"[a-f0-9]{40}"),
    ("duffel_live_", r"[\w=-]{43}"), ("duffel_test_", r"[\w=-]{43}"),
    ("oy2", r"[a-z0-9]{43}"),  # [nuget]
    ("rdme_", r"[a-z0-9]{70}"), ("pnu_", r"[A-Za-z0-9]{36}"), ("ops_", r"eyJ[\w-]{50,}"),  # prefect, 1password
    ("hcaik_", r"[A-Za-z0-9]{40,}"), ("hcxik_", r"[A-Za-z0-9]{40,}"),  # honeycomb
    ("sk.eyJ", r"[\w-]{50,}\.[\w-]{20,}"),  # [mapbox-api-token] (pk. is public)
    ("AstraCS:", r"[A-Za-z]{24}:[a-f0-9]{64}"),  # datastax
    ("AKID", r"[A-Za-z0-9]{32}"), ("amzn.mws.", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    ("tfp_", r"[\w.=-]{59}"), ("CLOJARS_", r"[a-z0-9]{60}"),  # [tencent], [amazon-mws], [typeform], [clojars]
    ("glcbt-", r"[\w-]{20,}"), ("GOCSPX-", r"[\w-]{28}"), ("1//0", r"[\w-]{40,}"),  # google refresh token
    ("xoxe.xox", r"[bp]-1-[A-Za-z0-9]{163,166}"), ("xoxe-1-", r"[A-Za-z0-9]{146}"),  # [slack-config-*-token]
    ("sk_live_", r"[A-Za-z0-9]{10,}"), ("pk_live_", r"(?!)"),  # Stripe publishable keys are public: never
    ("sl.", r"[\w-]{130,}"),  # [dropbox-short-lived-api-token]
    ("y0_", r"[\w-]{55}"), ("t1.", r"[A-Z0-9a-z_-]+[=]{0,2}\.[A-Z0-9a-z_-]{86}[=]{0,2}"),  # [yandex]
)


def _vendor_rules() -> list[Rule]:
    return [_r("vendor_token", rf"{_BD}{re.escape(prefix)}{body}(?![\w-])", prefix.lower())
            for prefix, body in _VENDOR_TOKENS if body != "(?!)"]


_AWS_ID = r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"

# Order is priority: when two findings overlap, the earlier rule names the kind.
RULES: tuple[Rule, ...] = (
    # a PEM key URL-encoded in a query or form body
    _r("private_key", r"-----BEGIN(?:%20|\+)[A-Z0-9%+_-]{0,120}PRIVATE(?:%20|\+)KEY-----(?:[A-Za-z0-9%+/=]{16,})*",
       "-----begin%20 -----begin+"),
    _r("private_key", r"Private-Lines:[ \t]{0,32}\d{1,4}(?:(?:\\[nr]|\s){1,4}[A-Za-z0-9+/=]{16,})+",  # PuTTY
       "private-lines"),
    # gitleaks private-key (+ truncated blocks and JSON-escaped newlines); kubeconfig *-key-data
    _r("private_key", r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?:(?:[^-]|-(?!----))*+-----END"
       r"[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|(?:(?:\\[nr]|\s)*[A-Za-z0-9+/=]{16,})*+)", "-----begin"),
    _r("private_key", rf"{_B}LS0tLS1CRUdJTi[A-Za-z0-9+/]{{20,}}={{0,2}}", "ls0tls1crudjti", b64_private_key),
    _r("aws_access_key_id", rf"{_B}{_AWS_ID}{_E}", "akia asia abia acca a3t"),  # aws-access-token
    # credentials.csv / "id,secret" pairs: the 40-char secret right after an access key id
    _r("aws_secret_access_key", rf"{_B}{_AWS_ID}[,;:|\s]{{1,{MAX_BLANKS}}}(?P<v>[A-Za-z0-9/+]{{40}})(?![A-Za-z0-9/+=])",
       "akia asia"),
    _r("aws_secret_access_key",
       r"(?i:aws[_.-]?secret(?:[_.-]?access)?(?:[_.-]?key)?|secret[_.-]?access[_.-]?key)"
       rf"{_KEY_END}(?:{_SEP}|{_W1}){_OPEN_Q}(?P<v>[A-Za-z0-9/+]{{40}})(?![A-Za-z0-9/+=])",
       _seps("aws secret", "secret access")),
    # "aws configure set aws_session_token <token>", "--session-token <token>" as well as key=value
    _r("aws_session_token", rf"(?<![:/])(?i:(?:session|security)[_.-]?token){_KEY_END}(?:{_SEP}|{_W1}){_OPEN_Q}"
       r"(?P<v>[A-Za-z0-9/+=%]{64,8192})", _seps("session token", "security token")),
    # STS tokens are base64 of a protobuf-like header; its first bytes vary with the token's length and
    # age ("IQoJb3JpZ2lu…", "IgoJb3JpZ2lu…", "FwoGZXIvYXdz…", "FQoDYXdz…", "AQoDYXdz…", "AQoEXAMPLE…")
    _r("aws_session_token", rf"{_B}[A-Za-z0-9]{{2}}oJb3JpZ2lu[A-Za-z0-9/+=%]{{40,8192}}", "ojb3jpz2lu", offset=2),
    _r("aws_session_token", rf"{_B}[A-Za-z0-9]{{3}}GZXIvYXdz[A-Za-z0-9/+=%]{{40,8192}}", "gzxivyxdz", offset=3),
    _r("aws_session_token", rf"{_B}[A-Za-z0-9]{{2}}oDYXdz[A-Za-z0-9/+=%]{{40,8192}}", "odyxdz", offset=2),
    _r("aws_session_token", rf"{_B}AQoEXAMPLE[A-Za-z0-9/+=%]{{40,8192}}", "aqoexample"),
    # webhooks: the whole URL goes, scheme and host included
    _r("slack_webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}",
       "hooks.slack.com", left=r"(?:https?://)?"),
    _r("slack_token", rf"{_BD}(?:xox(?:[abposrcd]|e(?:\.xox[bp])?)-[0-9A-Za-z-]{{10,}}|xapp-\d-[0-9A-Za-z-]{{10,}})",
       "xox xapp-"),
    _r("github_token", rf"{_B}(?:gh[pousr]_[0-9A-Za-z]{{36,255}}|github_pat_\w{{50,255}}){_E}",
       "ghp_ gho_ ghu_ ghs_ ghr_ github_pat_"),
    _r("gitlab_token", rf"{_BD}(?:gl(?:pat|dt|rt|ft|soat|ffct|imt|agent|oas|cbt|ptt)-[\w-]{{20,300}}"
       rf"(?:\.[0-9a-z]{{2,9}})?|GR1348941[\w-]{{20,}}){_ED}",
       "glpat- gldt- glrt- glft- glsoat- glffct- glimt- glagent- gloas- glcbt- glptt- gr1348941"),
    _r("anthropic_api_key", rf"{_BD}sk-ant-[a-z]{{2,8}}\d{{2}}-[\w-]{{32,}}", "sk-ant-"),
    _r("openai_api_key", rf"{_BD}sk-(?!ant-)(?:(?:proj|svcacct|admin|or-v1)-)?[\w-]{{20,}}{_ED}", "sk-",
       has_digit_and_letter),
    _r("google_api_key", rf"{_BD}AIza[\w-]{{35}}{_ED}", "aiza"),
    _r("google_oauth_token", rf"{_BD}(?:ya29\.[\w-]{{20,}}|GOCSPX-[\w-]{{24,}})", "ya29. gocspx-"),
    _r("stripe_key", rf"{_B}(?:(?:sk|rk)_(?:test|live|prod)_[0-9A-Za-z]{{10,99}}|whsec_[A-Za-z0-9]{{24,}}){_E}",
       "sk_ rk_ whsec_"),
    _r("twilio_key", rf"{_B}SK[0-9a-fA-F]{{32}}{_E}", "sk"),
    _r("sendgrid_key", rf"{_BD}SG\.[\w-]{{16,32}}\.[\w-]{{16,64}}{_ED}", "sg."),
    _r("npm_token", rf"{_B}npm_[A-Za-z0-9]{{36}}{_E}", "npm_"),
    _r("pypi_token", rf"{_BD}pypi-AgE[\w-]{{50,}}", "pypi-age"),
    _r("jwt", rf"{_BD}eyJ[\w-]{{8,}}\.eyJ[\w-]{{8,}}\.[\w-]*(?:\.[\w-]+){{0,2}}", "eyj"),
    _r("grafana_token", rf"{_B}(?:glc_[A-Za-z0-9+/]{{32,400}}={{0,3}}|glsa_[A-Za-z0-9]{{32}}_[A-Fa-f0-9]{{8}}"
       r"|eyJrIjoi[A-Za-z0-9]{70,400}={0,3})", "glc_ glsa_ eyjrijoi"),
    _r("digitalocean_token", rf"{_B}do[opr]_v1_[a-f0-9]{{64}}{_E}", "dop_v1_ doo_v1_ dor_v1_"),
    _r("huggingface_token", rf"{_B}(?:hf_|api_org_)[A-Za-z0-9]{{30,40}}{_E}", "hf_ api_org_", has_digit_and_letter),
    _r("databricks_token", rf"{_B}dapi[a-f0-9]{{32}}(?:-\d)?{_E}", "dapi"),
    _r("shopify_token", rf"{_B}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{{32}}{_E}", "shpat_ shpca_ shppa_ shpss_"),
    _r("vault_token", rf"{_B}hv[sbr]\.[\w-]{{24,}}", "hvs. hvb. hvr."),
    _r("terraform_token", rf"{_B}[A-Za-z0-9]{{14}}\.atlasv1\.[\w=-]{{60,70}}", ".atlasv1.", offset=14),
    _r("pulumi_token", rf"{_B}pul-[a-f0-9]{{40}}{_E}", "pul-"),
    _r("sentry_token", rf"{_B}(?:sntryu_[a-f0-9]{{64}}|sntrys_[A-Za-z0-9+/=_]{{50,}})", "sntrys_ sntryu_"),
    _r("new_relic_key", rf"{_B}NR(?:AK|II|JS)-[A-Za-z0-9-]{{19,40}}", "nrak- nrii- nrjs-"),
    _r("heroku_api_key", rf"{_B}HRKU-AA[\w-]{{58}}", "hrku-"),
    _r("heroku_api_key", _kv(r"heroku[\w.-]{0,20}",
                             r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "heroku"),
    _r("mailchimp_key", rf"{_B}[a-f0-9]{{32}}-us\d{{1,2}}{_E}", "-us", offset=32),
    _r("sendinblue_key", rf"{_B}x(?:keysib|smtpsib)-[a-f0-9]{{64}}-[A-Za-z0-9]{{16}}{_E}", "xkeysib- xsmtpsib-"),
    _r("atlassian_token", rf"{_B}ATATT3[\w=-]{{100,}}", "atatt3"),
    _r("postman_key", rf"{_B}PMAK-[a-f0-9]{{24}}-[a-f0-9]{{34}}{_E}", "pmak-"),
    _r("linear_key", rf"{_B}lin_api_[A-Za-z0-9]{{40}}{_E}", "lin_api_"),
    _r("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", "age-secret-key-1"),
    _r("doppler_token", rf"{_B}dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{{40,44}}{_E}",
       "dp.pt. dp.st. dp.sa. dp.ct. dp.scim. dp.audit."),
    _r("dynatrace_token", rf"{_B}dt0c01\.[A-Za-z0-9]{{24}}\.[A-Za-z0-9]{{64}}{_E}", "dt0c01."),
    _r("square_token", rf"{_BD}(?:sq0(?:atp|csp)-[\w-]{{22,60}}|EAAA[\w-]{{60}}){_ED}", "sq0atp- sq0csp- eaaa"),
    _r("facebook_token", rf"{_B}EAA[A-Za-z0-9]{{100,}}", "eaa"),
    _r("telegram_bot_token", r":AA[\w-]{33}(?![\w-])", ":aa", left=r"(?<![\w:])\d{8,10}"),
    _r("artifactory_key", rf"{_B}(?:AKCp[A-Za-z0-9]{{69}}|cmVmd[A-Za-z0-9]{{59}}){_E}", "akcp cmvmd"),
    _r("rubygems_token", rf"{_B}rubygems_[a-f0-9]{{48}}{_E}", "rubygems_"),
    _r("planetscale_token", rf"{_B}pscale_(?:tkn|pw|oauth)_[\w=.-]{{32,64}}", "pscale_tkn_ pscale_pw_ pscale_oauth_"),
    _r("openshift_token", rf"{_B}sha256~[\w-]{{43}}{_ED}", "sha256~"),
    _r("alibaba_access_key_id", rf"{_B}LTAI[A-Za-z0-9]{{20}}{_E}", "ltai"),
    _r("azure_ad_client_secret", r"(?<![\w~.-])[\w~.]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])", "q~", offset=4),
    _r("azure_storage_key", rf"(?i:AccountKey|SharedAccessKey){_W}={_W}(?P<v>[A-Za-z0-9+/]{{40,100}}={{0,2}})",
       "accountkey sharedaccesskey"),
    _r("microsoft_teams_webhook", r"webhook\.office\.com/webhookb2/[^\s'\"<>]{1,2048}", "webhook.office.com",
       left=r"(?:https://)?[\w.-]{0,64}+"),
    _r("discord_webhook", r"discord(?:app)?\.com/api/webhooks/\d+/[\w-]{40,}",
       "discord.com/api/webhooks/ discordapp.com/api/webhooks/", left=r"(?:https://)?[\w.-]{0,16}+"),
    *_vendor_rules(),
    _r("datadog_key", _kv(r"(?<![a-z])(?:datadog|dd)[_.-]?(?:api|app(?:lication)?)[_.-]?key", r"[a-f0-9]{32,40}\b"),
       "datadog " + _seps("dd api", "dd app")),
    # presigned S3 / GCS / Azure SAS / CloudFront: the signature in a URL is a credential
    # (and SigV4 "Authorization: AWS4-HMAC-SHA256 …, Signature=<hex>", replayable for minutes)
    _r("url_signature", r"(?i:(?<=[?&;])sig|(?<=[?&;,\s])signature|(?<=[?&;]x-amz-)signature"
       r"|(?<=[?&;]x-goog-)signature)=(?P<v>[^&\s'\"#<>,]{16,})", "sig= signature="),
    _r("registry_auth", rf"""(?<![A-Za-z])(?i:auth){_KEY_END}{_SEP}\\?["'](?P<v>[A-Za-z0-9+/]{{8,}}={{0,2}})""",
       "auth", b64_user_pass),
    _r("basic_auth_header", rf"(?i:\bbasic){_W1}(?P<v>[A-Za-z0-9+/]{{6,4096}}={{0,2}})(?![A-Za-z0-9+/=])", "basic",
       b64_user_pass),
    _r("bearer_token", rf"(?i:\bbearer){_W1}(?P<v>[\w.~+/=-]{{8,4096}})", "bearer", secret_value),
    # any other scheme in an Authorization header ("token", "SSWS", "ApiKey", "Splunk", "Bot", "Digest", …):
    # what follows the scheme is the credential; a header without a scheme is one whole credential
    _r("auth_header", rf"(?<![\w-])(?i:(?:proxy-)?authori[sz]ation){_KEY_END}{_SEP}{_OPEN_Q}"
       rf"""(?!(?i:basic|bearer|aws4-hmac-sha256)(?:\s|%20|\+))(?:[A-Za-z][\w.-]{{0,31}}{_W1})?"""
       r"""(?P<v>[^\s"',;&<>]{4,4096})""", "authorization authorisation", credential_value),
    # well-known schemes on their own ("SSWS 00ab…", "Splunk 8f1c…-…"), even outside a header
    _r("auth_header", rf"(?<![\w-])(?:SSWS|Splunk|GenieKey|Klaviyo-API-Key|Zoho-oauthtoken|ApiKey|Api-Key){_W1}"
       r"(?P<v>[\w.~+/=-]{12,4096})", "ssws splunk geniekey klaviyo-api-key zoho-oauthtoken apikey api-key",
       secret_value),
    _r("cookie", rf"""(?<![A-Za-z0-9_])(?i:(?:set-)?cookie2?){_KEY_END}{_SEP}{_OPEN_Q}(?P<v>[^\r\n"'`]{{1,4096}}?)"""
       rf"(?={_Q}|$|\r|\n)", "cookie", cookie_value),
    _r("db_connection_string", _AFTER_DB_SCHEME + _URL_USERINFO, "://", password_value),
    _r("password_in_url", r"(?<=[A-Za-z0-9+.-])" + _URL_USERINFO, "://", password_value),
    # a token as the whole userinfo: https://<token>@github.com/org/repo.git
    _r("password_in_url", r"(?<=[A-Za-z0-9+.-])://(?P<v>[\w.~%-]{20,512})@(?=[\w\[.-])", "://", random_looking),
    _r("password_assignment", rf"(?<![:/])(?i:{_PW_WORDS}){_KEY_END}{_SEP}{_VALUE}", "pass pwd pw",
       password_value),
    _r("password_assignment", rf"{_FLAG}(?i:password|passwd|pass|pwd){_FLAG_VALUE}", "pass pwd pw", password_value),
    _r("password_assignment", rf"(?<![\w-])(?:-u|--user)(?:[ \t]{{1,{MAX_BLANKS}}}|=)[\"']?[^\s:'\"]{{1,128}}:"
       r"(?P<v>[^\s'\"]{1,4096})", "-u --user",
       password_value),
    _r("password_assignment", r"mysql\w{0,16}\b[^\n]{0,200}?[ \t]-p(?P<v>[^\s'\"]{1,4096})", "mysql", password_value),
    _r("password_assignment", rf"(?i:identified[ \t]{{1,{MAX_BLANKS}}}by)[ \t]{{1,{MAX_BLANKS}}}'"
       r"(?P<v>[^'\n]{1,4096})'", "identified", password_value),
    # Oracle-style "user/password@host": sqlplus scott/tiger@//db:1521/ORCL, jdbc:oracle:thin:scott/tiger@db
    _r("password_assignment", r"@(?://|(?!sha\d{1,3}:)[\w.-]{1,253}(?::\d{1,5})?[:/][\w.$#-]+\b)", "@",
       password_value, left=r"(?:(?<![\w/.:-])|(?<=thin:))[A-Za-z][\w$#.]{0,63}/(?P<v>[^\s/@'\"]{1,128})"),
    _r("password_assignment",
       rf"(?i:userid|(?<![\w-])(?:sqlplus|conn(?:ect)?)(?:{_W1}-\w{{1,16}}){{0,4}}){_W}[= \t]{_W}"
       r"[\"']?[A-Za-z][\w$#.]{0,63}/(?P<v>[^\s/@'\"]{1,128})", "userid sqlplus connect", password_value),
    # "the password is hunter2", "password for db01 was: x", "login with password x"
    _r("password_assignment", rf"(?i:{_PW_WORDS}){_W1}(?:(?i:for|of|on){_W1}[^\s]{{1,64}}{_W1})?"
       rf"(?i:is|was|=|set{_W1}to|changed{_W1}to|reset{_W1}to|will{_W1}be|should{_W1}be){_W}:?{_W1}{_WORD_VALUE}",
       "pass pwd pw", spoken_password),
    # XML elements: <password>x</password>, <db:apiKey>x</db:apiKey>
    _r("password_assignment", r"(?i:password|passwd|pwd)>(?P<v>[^<\s][^<]{0,4095})</", "password> passwd> pwd>",
       password_value, left=r"<[\w:.-]{0,40}"),
    _r("secret_assignment", r"(?i:secret|token)>(?P<v>[^<\s][^<]{0,4095})</", "secret> token>",
       secret_value, left=r"<[\w:.-]{0,40}"),
    _r("secret_assignment", r"(?i:key)>(?P<v>[^<\s][^<]{0,4095})</", "key>", secret_value,
       left=r"<[\w:.-]{0,32}(?i:api|access|private|signing|encryption|secret|client|master|license)[_-]?"),
    _r("password_assignment", rf"(?i:password|passwd){_W1}(?P<v>[^\s\"']{{1,512}})", "password passwd",
       password_value,  # .netrc
       left=rf"(?i:\b(?:machine{_W1}\S{{1,253}}|default)){_W1}(?i:login){_W1}\S{{1,128}}{_W1}"),
    _r("password_assignment", rf"(?i:{_PW_WORDS}){_W1}{_WORD_VALUE}", "pass pwd pw", spoken_password,
       left=rf"(?i:\b(?:with|using|use|enter|typed?)(?:{_W1}the)?){_W1}"),
    _r("secret_assignment", rf"(?i:\b(?:secret|token|(?:api|access|secret|private|signing|encryption|master){_W}key"
       rf"|credentials?)){_W1}(?i:is|was|set{_W1}to){_W}:?{_W1}{_WORD_VALUE}",
       "secret token api access private signing encryption master credential", secret_value),
    _r("secret_assignment", rf"(?<![:/])(?i:{_SECRET_KEYS}){_KEY_END}{_SEP}{_VALUE}", _SECRET_WORDS,
       secret_value),
    _r("secret_assignment", rf"(?<=(?<!\S)--)(?i:{_SECRET_KEYS}){_FLAG_VALUE}", _SECRET_WORDS, secret_value),
    # second net, for vendors not named above: a lowercase prefix and a long random body ("figd_…", "sbp_…",
    # "tskey-auth-…"), and any key=value whose value looks random whatever the key is called
    _r("vendor_token", r"\.[\w-]{6}\.[\w-]{27,40}(?![\w.-])", "",  # a Discord bot token
       left=r"(?<![\w.-])[MNO][A-Za-z0-9]{23,27}"),
    _r("vendor_token", rf"[_-](?=[\w-]{{28}}){_MIXED_WORD}[A-Za-z0-9][\w-]{{27,255}}(?![\w-])", "", random_looking,
       left=r"(?<![\w.-])[a-z][a-z0-9]{1,9}(?:[_-][a-z0-9]{2,8})?"),
    _r("high_entropy_value", rf"(?:=|:(?=[ \t\"']))(?<![=:]=){_W}{_OPEN_Q}(?P<v>{_MIXED_VALUE}"
       r"[A-Za-z0-9+/_~.-]{20,4096}={0,2})(?![\w+/=~.-])", "", random_looking,
       left=rf"(?<![\w.:/-])(?!{_ID_KEY})[A-Za-z][\w.-]{{0,40}}{_KEY_END}{_W}"),
)

KINDS: tuple[str, ...] = tuple(dict.fromkeys(rule.kind for rule in RULES))
