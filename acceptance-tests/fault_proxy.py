"""A small fault-injecting HTTP proxy between the provider and the AWS
emulator (set as the provider's endpoint). On command it delays, drops,
throttles (HTTP 400 ThrottlingException / Throttling, 503 SlowDown),
answers 500, fails the N-th call of an API action, or runs a callback
(e.g. SIGKILL the provider) on the N-th call. It counts every call by
action, and what it injected. A `Hold` keeps the objects a create made in
their pending state for a while (the latency model), rewriting what the
emulator, which makes everything ready at once, answers about them."""

import html
import http.client
import json
import random
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def action_of(method: str, path: str, headers, body: bytes) -> str:
    """The API action of a request: X-Amz-Target (JSON protocols), Action=
    (query protocols), else the S3 REST verb."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    ctype = headers.get("Content-Type", "")
    if "x-www-form-urlencoded" in ctype and body:
        q = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in q:
            return q["Action"][0]
    q = urllib.parse.urlparse(path).query
    if "Action=" in q:
        return urllib.parse.parse_qs(q)["Action"][0]
    # REST-JSON APIs name the action by method and path (EKS).
    bare = urllib.parse.urlparse(path).path
    for pattern, verb, name in EKS_ROUTES:
        if method == verb and re.fullmatch(pattern, bare):
            return name
    return f"S3:{method}"


# The IAM prefix of each SigV4 signing name that differs from it.
SIGNING_TO_IAM = {"monitoring": "cloudwatch", "email": "ses"}


def service_of(headers) -> str:
    """The service a request is signed for (the SigV4 credential scope),
    as its IAM prefix."""
    m = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", headers.get("Authorization", ""))
    name = m.group(1) if m else "unknown"
    return SIGNING_TO_IAM.get(name, name)


# REST APIs (S3, Route 53, EKS, Scheduler, DLM) name the operation by method
# and path: (service, method, path regex, query key or None, operation).
REST_ROUTES = [
    ("s3", "HEAD", r"/[^/]+/?", None, "HeadBucket"),
    ("s3", "PUT", r"/[^/]+/?", "versioning", "PutBucketVersioning"),
    ("s3", "GET", r"/[^/]+/?", "versioning", "GetBucketVersioning"),
    ("s3", "PUT", r"/[^/]+/?", "replication", "PutBucketReplication"),
    ("s3", "GET", r"/[^/]+/?", "replication", "GetBucketReplication"),
    ("s3", "DELETE", r"/[^/]+/?", "replication", "DeleteBucketReplication"),
    ("s3", "PUT", r"/[^/]+/?", "tagging", "PutBucketTagging"),
    ("s3", "GET", r"/[^/]+/?", "tagging", "GetBucketTagging"),
    ("s3", "DELETE", r"/[^/]+/?", "tagging", "DeleteBucketTagging"),
    ("s3", "PUT", r"/[^/]+/?", "encryption", "PutBucketEncryption"),
    ("s3", "GET", r"/[^/]+/?", "encryption", "GetBucketEncryption"),
    ("s3", "PUT", r"/[^/]+/?", "lifecycle", "PutBucketLifecycleConfiguration"),
    ("s3", "GET", r"/[^/]+/?", "lifecycle", "GetBucketLifecycleConfiguration"),
    ("s3", "PUT", r"/[^/]+/?", "publicAccessBlock", "PutPublicAccessBlock"),
    ("s3", "GET", r"/[^/]+/?", "publicAccessBlock", "GetPublicAccessBlock"),
    ("s3", "PUT", r"/[^/]+/?", "policy", "PutBucketPolicy"),
    ("s3", "GET", r"/[^/]+/?", "policy", "GetBucketPolicy"),
    ("s3", "GET", r"/[^/]+/?", "location", "GetBucketLocation"),
    ("s3", "POST", r"/[^/]+/?", "delete", "DeleteObjects"),
    ("s3", "GET", r"/[^/]+/?", "versions", "ListObjectVersions"),
    ("s3", "GET", r"/[^/]+/?", "list-type", "ListObjectsV2"),
    ("s3", "GET", r"/[^/]+/?", None, "ListObjects"),
    ("s3", "PUT", r"/[^/]+/?", None, "CreateBucket"),
    ("s3", "DELETE", r"/[^/]+/?", None, "DeleteBucket"),
    ("s3", "GET", r"/?", None, "ListBuckets"),
    ("s3", "PUT", r"/[^/]+/.+", None, "PutObject"),
    ("s3", "GET", r"/[^/]+/.+", None, "GetObject"),
    ("s3", "HEAD", r"/[^/]+/.+", None, "HeadObject"),
    ("s3", "DELETE", r"/[^/]+/.+", None, "DeleteObject"),
    ("route53", "POST", r"/2013-04-01/hostedzone/[^/]+/rrset/?", None, "ChangeResourceRecordSets"),
    ("route53", "GET", r"/2013-04-01/hostedzone/[^/]+/rrset/?", None, "ListResourceRecordSets"),
    ("route53", "GET", r"/2013-04-01/hostedzone/[^/]+", None, "GetHostedZone"),
    ("route53", "GET", r"/2013-04-01/hostedzone/?", None, "ListHostedZones"),
    ("route53", "GET", r"/2013-04-01/hostedzonesbyname/?", None, "ListHostedZonesByName"),
    ("route53", "POST", r"/2013-04-01/healthcheck/?", None, "CreateHealthCheck"),
    ("route53", "GET", r"/2013-04-01/healthcheck/?", None, "ListHealthChecks"),
    ("route53", "GET", r"/2013-04-01/healthcheck/[^/]+/status", None, "GetHealthCheckStatus"),
    ("route53", "GET", r"/2013-04-01/healthcheck/[^/]+", None, "GetHealthCheck"),
    ("route53", "POST", r"/2013-04-01/healthcheck/[^/]+", None, "UpdateHealthCheck"),
    ("route53", "DELETE", r"/2013-04-01/healthcheck/[^/]+", None, "DeleteHealthCheck"),
    ("route53", "POST", r"/2013-04-01/tags/[^/]+/[^/]+", None, "ChangeTagsForResource"),
    ("route53", "GET", r"/2013-04-01/tags/[^/]+/[^/]+", None, "ListTagsForResource"),
    ("route53", "GET", r"/2013-04-01/change/[^/]+", None, "GetChange"),
    ("eks", "POST", r"/clusters", None, "CreateCluster"),
    ("eks", "GET", r"/clusters", None, "ListClusters"),
    ("eks", "GET", r"/clusters/[^/]+", None, "DescribeCluster"),
    ("eks", "DELETE", r"/clusters/[^/]+", None, "DeleteCluster"),
    ("eks", "POST", r"/clusters/[^/]+/update-config", None, "UpdateClusterConfig"),
    ("eks", "POST", r"/clusters/[^/]+/updates", None, "UpdateClusterVersion"),
    ("eks", "GET", r"/clusters/[^/]+/updates", None, "ListUpdates"),
    ("eks", "GET", r"/clusters/[^/]+/updates/[^/]+", None, "DescribeUpdate"),
    ("eks", "POST", r"/clusters/[^/]+/node-groups", None, "CreateNodegroup"),
    ("eks", "GET", r"/clusters/[^/]+/node-groups", None, "ListNodegroups"),
    ("eks", "GET", r"/clusters/[^/]+/node-groups/[^/]+", None, "DescribeNodegroup"),
    ("eks", "DELETE", r"/clusters/[^/]+/node-groups/[^/]+", None, "DeleteNodegroup"),
    ("eks", "POST", r"/clusters/[^/]+/node-groups/[^/]+/update-config", None, "UpdateNodegroupConfig"),
    ("eks", "POST", r"/clusters/[^/]+/node-groups/[^/]+/update-version", None, "UpdateNodegroupVersion"),
    ("scheduler", "POST", r"/schedules/[^/]+", None, "CreateSchedule"),
    ("scheduler", "GET", r"/schedules/[^/]+", None, "GetSchedule"),
    ("scheduler", "PUT", r"/schedules/[^/]+", None, "UpdateSchedule"),
    ("scheduler", "DELETE", r"/schedules/[^/]+", None, "DeleteSchedule"),
    ("scheduler", "GET", r"/schedules/?", None, "ListSchedules"),
    ("dlm", "POST", r"/policies/?", None, "CreateLifecyclePolicy"),
    ("dlm", "GET", r"/policies/?", None, "GetLifecyclePolicies"),
    ("dlm", "GET", r"/policies/[^/]+/?", None, "GetLifecyclePolicy"),
    ("dlm", "PATCH", r"/policies/[^/]+/?", None, "UpdateLifecyclePolicy"),
    ("dlm", "DELETE", r"/policies/[^/]+/?", None, "DeleteLifecyclePolicy"),
    ("*", "GET", r"/tags/.+", None, "ListTagsForResource"),
    ("*", "POST", r"/tags/.+", None, "TagResource"),
    ("*", "DELETE", r"/tags/.+", None, "UntagResource"),
]


def operation_of(service: str, method: str, path: str, headers, body: bytes) -> str:
    """The API operation of a request, named as the service names it."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    ctype = headers.get("Content-Type", "")
    if "x-www-form-urlencoded" in ctype and body:
        q = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in q:
            return q["Action"][0]
    u = urllib.parse.urlparse(path)
    if "Action=" in u.query:
        return urllib.parse.parse_qs(u.query)["Action"][0]
    keys = set(urllib.parse.parse_qs(u.query, keep_blank_values=True))
    bare = urllib.parse.unquote(u.path)
    for svc, verb, pattern, key, name in REST_ROUTES:
        if svc in (service, "*") and verb == method and re.fullmatch(pattern, bare) and (key is None or key in keys):
            return name
    return f"{method} {bare}"


EKS_ROUTES = [
    (r"/clusters", "POST", "CreateCluster"),
    (r"/clusters/[^/]+", "DELETE", "DeleteCluster"),
    (r"/clusters/[^/]+/node-groups", "POST", "CreateNodegroup"),
    (r"/clusters/[^/]+/node-groups/[^/]+", "DELETE", "DeleteNodegroup"),
]


MUTATING = re.compile(r"^(Create|Put|Register|Allocate|Run|Authorize|Associate|Attach|Modify|Update|Tag|Subscribe|Request)")


class Rule:
    """`match`: a regex on the action. `mode`: fail (400 with `code`),
    throttle, slowdown (503), error500, delay (`seconds`), drop (close the
    connection), callback. `nth`: only the n-th matching call (1-based);
    `probability`: each matching call with this chance; `times`: how many
    injections at most (None = unlimited)."""

    def __init__(self, match=".*", mode="fail", nth=None, probability=None, times=None, code="InternalFailure", seconds=0.0, callback=None):
        self.match = re.compile(match)
        self.mode, self.nth, self.probability, self.times = mode, nth, probability, times
        self.code, self.seconds, self.callback = code, seconds, callback
        self.seen = 0
        self.injected = 0

    def fires(self, action: str, rng: random.Random) -> bool:
        if not self.match.search(action):
            return False
        self.seen += 1
        if self.times is not None and self.injected >= self.times:
            return False
        if self.nth is not None and self.seen != self.nth:
            return False
        if self.probability is not None and rng.random() >= self.probability:
            return False
        self.injected += 1
        return True


class Hold:
    """Objects made by a `create` action (a regex) stay pending for
    `seconds` after the create answered: `ident(request_body, response_body)`
    names the object made, and `rewrite(body, names)` turns the ready state
    of the named objects in a later answer into their pending state."""

    def __init__(self, create: str, seconds: float, ident, rewrite):
        self.create, self.seconds, self.ident, self.rewrite = re.compile(create), seconds, ident, rewrite
        self.until: dict[str, float] = {}
        self.rewritten = 0

    def live(self) -> set[str]:
        now = time.time()
        return {n for n, t in self.until.items() if t > now}


def form_param(name: str):
    """The object's name from a query-protocol request parameter."""
    return lambda req, _resp: (urllib.parse.parse_qs(req.decode("utf-8", "replace")).get(name) or [None])[0]


def json_field(name: str):
    """The object's name from a REST-JSON request body field."""
    return lambda req, _resp: json.loads(req or b"{}").get(name)


def xml_field(tag: str):
    """The object's name from a tag of the create's XML answer."""
    return lambda _req, resp: (m.group(1) if (m := re.search(rf"<{tag}>([^<]+)</{tag}>".encode(), resp)) else b"").decode() or None


def xml_state(id_tag: str, state_tag: str, ready: str, pending: str):
    """In an XML answer listing objects, the first `<state_tag>ready` after
    a held object's `<id_tag>` (and before the next object's) becomes
    `pending`."""
    ready_b, pending_b = f"<{state_tag}>{ready}</{state_tag}>".encode(), f"<{state_tag}>{pending}</{state_tag}>".encode()
    opening = f"<{id_tag}>".encode()

    def rewrite(body: bytes, names: set[str]) -> bytes:
        parts = body.split(opening)
        for i in range(1, len(parts)):
            name = parts[i].split(b"<", 1)[0].decode("utf-8", "replace").lower()
            if name in {n.lower() for n in names}:
                parts[i] = parts[i].replace(ready_b, pending_b, 1)
        return opening.join(parts)

    return rewrite


def json_state(member: str, name_field: str, ready: str, pending: str):
    """In a REST-JSON answer `{member: {name_field, status}}` (EKS), the
    status of a held object becomes `pending`."""

    def rewrite(body: bytes, names: set[str]) -> bytes:
        try:
            doc = json.loads(body)
        except ValueError:
            return body
        obj = doc.get(member) if isinstance(doc, dict) else None
        if isinstance(obj, dict) and obj.get(name_field) in names and obj.get("status") == ready:
            obj["status"] = pending
            return json.dumps(doc).encode()
        return body

    return rewrite


class FaultProxy:
    def __init__(self, upstream: str, seed: int = 7):
        u = urllib.parse.urlparse(upstream)
        self.upstream_host, self.upstream_port = u.hostname, u.port
        self.rules: list[Rule] = []
        self.holds: list[Hold] = []
        self.calls: dict[str, int] = {}
        # Every call as "service:Operation" (the catalog's names).
        self.ops: dict[str, int] = {}
        # Realistic-AWS mode: per catalog action, the "not yet" errors
        # still to play (see `realistic`), and what was played.
        self.not_yet: dict[str, list[tuple[str, str]]] = {}
        self.played: list[tuple[str, str]] = []
        self.injected: list[tuple[str, str]] = []
        self.down = False
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                action = action_of(self.command, self.path, self.headers, body)
                service = service_of(self.headers)
                op = f"{service}:{operation_of(service, self.command, self.path, self.headers, body)}"
                with proxy.lock:
                    proxy.calls[action] = proxy.calls.get(action, 0) + 1
                    proxy.ops[op] = proxy.ops.get(op, 0) + 1
                    rule = next((r for r in proxy.rules if r.fires(action, proxy.rng)), None)
                    if rule:
                        proxy.injected.append((action, rule.mode))
                    queued = proxy.not_yet.get(op)
                    not_yet = queued.pop(0) if queued and rule is None else None
                    if not_yet:
                        proxy.played.append((op, not_yet[0]))
                    down = proxy.down
                if down:
                    self.close_connection = True
                    self.connection.close()
                    return
                if not_yet is not None:
                    return self.fault(Rule(mode="fail", code=not_yet[0]), action, message=not_yet[1])
                if rule is not None:
                    if rule.mode == "callback":
                        rule.callback(action)
                    elif rule.mode == "delay":
                        time.sleep(rule.seconds)
                    elif rule.mode == "drop":
                        self.close_connection = True
                        self.connection.close()
                        return
                    else:
                        return self.fault(rule, action)
                self.forward(body, action)

            def fault(self, rule, action, message=None):
                if rule.mode == "throttle":
                    status, code, msg = 400, ("Throttling" if "x-www-form" in self.headers.get("Content-Type", "") else "ThrottlingException"), "Rate exceeded"
                elif rule.mode == "slowdown":
                    status, code, msg = 503, "SlowDown", "Please reduce your request rate."
                elif rule.mode == "error500":
                    status, code, msg = 500, "InternalError", "injected internal error"
                else:
                    status, code, msg = 400, rule.code, message or f"injected failure of {action}"
                msg = html.escape(msg, quote=False) if not self.headers.get("X-Amz-Target") and not json_protocol(self.headers, self.path) else msg
                if self.headers.get("X-Amz-Target") or json_protocol(self.headers, self.path):
                    payload = json.dumps({"__type": code, "message": msg, "Message": msg}).encode()
                    ctype = "application/x-amz-json-1.1"
                elif service_of(self.headers) == "s3":
                    payload = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{msg}</Message><RequestId>fault</RequestId></Error>'.encode()
                    ctype = "application/xml"
                else:
                    payload = (
                        f'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error>'
                        f"<Errors><Error><Code>{code}</Code><Message>{msg}</Message></Error></Errors><RequestId>fault</RequestId></ErrorResponse>"
                    ).encode()
                    ctype = "text/xml"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("x-amzn-ErrorType", code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def forward(self, body, action):
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                conn.request(self.command, self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                if proxy.holds and r.status < 300:
                    data = proxy.held(action, body, data)
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_one

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A client killed mid-call (the SIGKILL scenarios) is expected.
                import sys

                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FaultProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set(self, *rules: Rule) -> None:
        with self.lock:
            self.rules = list(rules)
            self.injected = []

    def clear(self) -> None:
        self.set()

    def hold(self, *holds: Hold) -> None:
        """Holds objects pending (see `Hold`); no argument ends holding."""
        with self.lock:
            self.holds = list(holds)

    def held(self, action: str, request: bytes, answer: bytes) -> bytes:
        """Notes the object a held create made; rewrites the state of the
        objects still held in any other answer."""
        with self.lock:
            holds = list(self.holds)
        for h in holds:
            if h.create.fullmatch(action):
                name = h.ident(request, answer)
                if name:
                    with self.lock:
                        h.until[name] = time.time() + h.seconds
            elif names := h.live():
                rewritten = h.rewrite(answer, names)
                if rewritten != answer:
                    h.rewritten += 1
                    answer = rewritten
        return answer

    def realistic(self, catalog: dict, seed: int) -> None:
        """Realistic-AWS mode: for every catalog entry with "not yet"
        errors, the first 1 to 3 calls of its action (chosen by `seed`)
        fail with those errors, worded as AWS words them; each call again
        only once the provider has retried. Called again, it re-arms every
        entry (one arming per apply, update or destroy)."""
        rng = random.Random(seed)
        queue: dict[str, list[tuple[str, str]]] = {}
        for action, errors in playable(catalog).items():
            n = rng.randint(1, 3)
            queue[action] = [errors[i % len(errors)] for i in range(n)]
        with self.lock:
            self.not_yet = queue

    def total_calls(self) -> int:
        with self.lock:
            return sum(self.calls.values())

    def reset_counts(self) -> None:
        with self.lock:
            self.calls = {}
            self.ops = {}


def json_protocol(headers, path: str) -> bool:
    """REST-JSON services (EKS, Scheduler, DLM) answer errors in JSON."""
    return service_of(headers) in ("eks", "scheduler", "dlm")


def playable(catalog: dict) -> dict[str, list[tuple[str, str]]]:
    """Per action, the "not yet" errors (code, AWS's words) the realistic
    mode plays: only the codes every declaration of the action retries (two
    kinds may make the same call), and never one whose fragment the
    message lacks."""
    by_action: dict[str, list[list[tuple[str, str]]]] = {}
    for call in catalog["calls"]:
        by_action.setdefault(call["action"], []).append([(n["code"], n["says"]) for n in call["not_yet"]])
    out = {}
    for action, decls in by_action.items():
        shared = [e for e in decls[0] if all(any(c == e[0] for c, _ in d) for d in decls[1:])]
        if shared:
            out[action] = shared
    return out


def load_catalog(provider: str) -> dict:
    """The provider's consistency catalog (`<provider> catalog`)."""
    import subprocess

    return json.loads(subprocess.run([provider, "catalog"], check=True, capture_output=True, text=True).stdout)
