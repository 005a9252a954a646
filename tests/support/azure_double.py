"""A loopback HTTPS double of Entra ID (token endpoint) and Azure Key Vault (secrets API).

One ThreadingHTTPServer on 127.0.0.1 serves both, with a certificate from a throw-away `trustme`
CA whose PEM lies in `ca_file`; clients trust it through the SDKs' `connection_verify=ca_file`,
so no test touches the process environment. The real `azure-identity` and
`azure-keyvault-secrets` clients talk to it unchanged:

- MSAL, with instance discovery disabled, fetches
  `GET /{tenant}/v2.0/.well-known/openid-configuration` and then posts the client-credentials
  grant to `POST /{tenant}/oauth2/v2.0/token`.
- The Key Vault client first sends its request without a token and expects a 401 whose
  `WWW-Authenticate` challenge names the authority (with the tenant) and the resource; it then
  takes a token for `<resource>/.default` and repeats the request with it.

The SDK only sends a token to a vault whose host is a subdomain of the challenge's resource
(the guard against handing tokens to a look-alike host; Azure answers `*.vault.azure.net` with
`https://vault.azure.net`). The double's vault host is the IP address 127.0.0.1, so it names
`https://0.0.1:<port>` as its resource: the textual parent domain of `127.0.0.1:<port>`. That
keeps the SDK's check switched on in the adapter under test.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
DISCOVERY_PATH = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
SECRET_PATH = re.compile(r"^/secrets/([^/]+)(?:/([^/]*))?/?$")
TOKEN_LIFETIME_SECONDS = 3600
DEFAULT_TENANT_ID = "00000000-0000-4000-8000-00000000d0b1"
"""The SDK caches a vault's challenge (its tenant) per host and port for the whole process; a
later double on a reused port must name the same tenant, or the cached one sends the client to
the wrong tenant."""


@dataclass(frozen=True)
class IssuedToken:
    """An access token the double handed out, and to whom."""

    access_token: str
    client_id: str
    scope: str


@dataclass
class SecretVersion:
    """One version of a Key Vault secret."""

    value: str
    version: str
    created: int
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class AzureDouble:
    """Entra ID and one Key Vault on a loopback HTTPS port.

    Attributes a test sets or reads (all may change while the server runs):
        secrets: name -> versions (oldest first); `set_secret` adds one.
        principals: client id -> client secret of the service principals that may log in.
        fixed_tokens: client id -> the access token always issued to that principal (for example
            a PostgreSQL password set beforehand); others get a random token.
        tokens: every token issued, in order.
        requests: path (no query) -> number of requests answered, not counting the 401
            challenges the Key Vault client provokes on purpose (those are in `challenges`).
        delay: seconds the vault waits before answering a secrets request.
        forbidden: client ids whose tokens the vault refuses with 403 (no role assignment).
        vault_missing: when true every vault request gets a bare 404, as from a wrong host.
    """

    def __init__(self, *, tenant_id: str | None = None) -> None:
        self.tenant_id = tenant_id or DEFAULT_TENANT_ID
        self.secrets: dict[str, list[SecretVersion]] = {}
        self.principals: dict[str, str] = {}
        self.fixed_tokens: dict[str, str] = {}
        self.tokens: list[IssuedToken] = []
        self.requests: Counter[str] = Counter()
        self.challenges: Counter[str] = Counter()
        self.delay = 0.0
        self.forbidden: set[str] = set()
        self.vault_missing = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._directory: Path | None = None
        self.ca_file = Path()
        self.port = 0

    # ------------------------------------------------------------ addresses

    @property
    def authority_host(self) -> str:
        """Return the Entra ID authority host to pass to azure-identity."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def vault_url(self) -> str:
        """Return the vault URL to pass to SecretClient."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def resource(self) -> str:
        """Return the resource named in the Key Vault challenge (see the module docstring)."""
        return f"https://0.0.1:{self.port}"

    @property
    def token_path(self) -> str:
        """Return the path of the tenant's token endpoint (a key of `requests`)."""
        return f"/{self.tenant_id}/oauth2/v2.0/token"

    # ------------------------------------------------------------ set-up

    def add_principal(
        self, client_id: str | None = None, secret: str | None = None
    ) -> tuple[str, str]:
        """Register a service principal and return its client id and secret."""
        client_id = client_id or str(uuid.uuid4())
        secret = secret or secrets.token_urlsafe(24)
        with self._lock:
            self.principals[client_id] = secret
        return client_id, secret

    def set_secret(self, name: str, value: str, content_type: str | None = None) -> SecretVersion:
        """Store a new version of secret `name`."""
        version = SecretVersion(value, uuid.uuid4().hex, int(time.time()), content_type)
        with self._lock:
            self.secrets.setdefault(name, []).append(version)
        return version

    def secret_value(self, name: str) -> str | None:
        """Return the newest value of secret `name`, or None."""
        with self._lock:
            versions = self.secrets.get(name)
            return versions[-1].value if versions else None

    # ------------------------------------------------------------ life cycle

    def start(self) -> AzureDouble:
        """Create the CA and certificate and start serving on a free loopback port."""
        self._directory = Path(tempfile.mkdtemp(prefix="azure-double-"))
        ca = trustme.CA()
        self.ca_file = self._directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)

        double = self

        class Handler(_Handler):
            owner = double

        server = _QuietServer(("127.0.0.1", 0), Handler)
        # The handshake happens in the handler's thread, so one stuck client cannot block accept.
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the CA file."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __enter__(self) -> AzureDouble:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ behaviour

    def _count(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1

    def _issue(self, client_id: str, scope: str) -> str:
        with self._lock:
            token = self.fixed_tokens.get(client_id) or secrets.token_urlsafe(32)
            self.tokens.append(IssuedToken(token, client_id, scope))
        return token

    def _issued(self, token: str) -> IssuedToken | None:
        with self._lock:
            for issued in self.tokens:
                if issued.access_token == token:
                    return issued
        return None

    def _bundle(self, name: str, version: SecretVersion) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "value": version.value,
            "id": f"{self.vault_url}/secrets/{name}/{version.version}",
            "attributes": {
                "enabled": True,
                "created": version.created,
                "updated": version.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": version.tags,
        }
        if version.content_type is not None:
            bundle["contentType"] = version.content_type
        return bundle


class _QuietServer(ThreadingHTTPServer):
    """A threading server that does not wait for, or print, its handlers' failures."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore a client that hung up; the tests look at what the client saw."""


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests on behalf of `owner`."""

    owner: AzureDouble
    protocol_version = "HTTP/1.1"

    def handle(self) -> None:
        # Clients that time out hang up mid-answer; that is the point of the slow-vault tests.
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    # ------------------------------------------------------------ routing

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def _route(self, method: str) -> None:
        # The SDK asks for `/secrets/name/` (an empty version); count it as `/secrets/name`.
        path = urlsplit(self.path).path
        if path.startswith("/secrets/") and path.endswith("/"):
            path = path.rstrip("/")
        body = self._read_body()
        owner = self.owner
        if method == "GET" and (found := DISCOVERY_PATH.match(path)):
            owner._count(path)
            self._discovery(found[1])
        elif method == "POST" and (found := TOKEN_PATH.match(path)):
            owner._count(path)
            self._token(found[1], body)
        elif path.startswith("/secrets"):
            self._vault(method, path, body)
        else:
            owner._count(path)
            self._json(404, {"error": "not_found", "error_description": f"no route {path}"})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # ------------------------------------------------------------ Entra ID

    def _discovery(self, tenant: str) -> None:
        owner = self.owner
        if tenant != owner.tenant_id:
            self._aad_error(
                400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check the tenant id."
            )
            return
        base = f"{owner.authority_host}/{tenant}"
        self._json(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
            },
        )

    def _token(self, tenant: str, body: bytes) -> None:
        owner = self.owner
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        client_id = form.get("client_id", "")
        if tenant != owner.tenant_id:
            self._aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        elif form.get("grant_type") != "client_credentials":
            self._aad_error(400, "unsupported_grant_type", 70003, "Unsupported grant type.")
        elif client_id not in owner.principals:
            self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory.",
            )
        elif form.get("client_secret") != owner.principals[client_id]:
            self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        else:
            scope = form.get("scope", "")
            self._json(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME_SECONDS,
                    "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                    "access_token": owner._issue(client_id, scope),
                },
            )

    def _aad_error(self, status: int, error: str, code: int, text: str) -> None:
        trace = uuid.uuid4()
        self._json(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\n"
                f"Correlation ID: {uuid.uuid4()}\r\nTimestamp: 2024-01-01 00:00:00Z",
                "error_codes": [code],
                "timestamp": "2024-01-01 00:00:00Z",
                "trace_id": str(trace),
                "correlation_id": str(uuid.uuid4()),
            },
        )

    # ------------------------------------------------------------ Key Vault

    def _vault(self, method: str, path: str, body: bytes) -> None:
        owner = self.owner
        if owner.vault_missing:
            owner._count(path)
            self._send(404, b"<html><body>404 Not Found</body></html>", "text/html")
            return
        caller = self._caller()
        if caller is None:
            with owner._lock:
                owner.challenges[path] += 1
            self._challenge()
            return
        owner._count(path)
        if owner.delay:
            owner._stopping.wait(owner.delay)
        found = SECRET_PATH.match(path)
        if caller.client_id in owner.forbidden:
            self._forbidden(caller.client_id, method)
        elif found is None:
            self._kv_error(400, "BadParameter", f"The request URI {path} is not valid.")
        elif not SECRET_NAME.match(found[1]):
            self._kv_error(400, "BadParameter", "The secret name is not valid.")
        elif method == "GET":
            self._get_secret(found[1], found[2] or "")
        elif method == "PUT" and not found[2]:
            self._put_secret(found[1], body)
        else:
            self._kv_error(405, "MethodNotAllowed", f"{method} is not allowed on {path}.")

    def _caller(self) -> IssuedToken | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        issued = self.owner._issued(token)
        if issued is None or issued.scope != f"{self.owner.resource}/.default":
            return None
        return issued

    def _forbidden(self, client_id: str, method: str) -> None:
        action = "setSecret" if method == "PUT" else "getSecret"
        message = (
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, "
            "please observe propagation time.\r\n"
            f"Caller: appid={client_id};oid={uuid.uuid4()}\r\n"
            f"Action: 'Microsoft.KeyVault/vaults/secrets/{action}/action'\r\n"
            "Resource: '/subscriptions/0/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv'"
            "\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null\r\n"
            "Vault: kv;location=westeurope\r\n"
        )
        self._json(
            403,
            {
                "error": {
                    "code": "Forbidden",
                    "message": message,
                    "innererror": {"code": "ForbiddenByRbac"},
                }
            },
        )

    def _challenge(self) -> None:
        owner = self.owner
        challenge = (
            f'Bearer authorization="{owner.authority_host}/{owner.tenant_id}", '
            f'resource="{owner.resource}"'
        )
        self._json(
            401,
            {"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a token."}},
            {"WWW-Authenticate": challenge},
        )

    def _get_secret(self, name: str, version: str) -> None:
        owner = self.owner
        with owner._lock:
            versions = list(owner.secrets.get(name, ()))
        chosen = [v for v in versions if v.version == version] if version else versions[-1:]
        if not chosen:
            detail = f" with (name/id) {name}/{version}" if version else f" with (name/id) {name}"
            self._kv_error(404, "SecretNotFound", f"A secret{detail} was not found in this vault.")
            return
        self._json(200, owner._bundle(name, chosen[-1]))

    def _put_secret(self, name: str, body: bytes) -> None:
        try:
            document = json.loads(body)
            value = document["value"]
        except (ValueError, KeyError, TypeError):
            self._kv_error(400, "BadParameter", "The request body must hold a value.")
            return
        stored = self.owner.set_secret(name, str(value), document.get("contentType"))
        stored.tags.update(document.get("tags") or {})
        self._json(200, self.owner._bundle(name, stored))

    def _kv_error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message}})

    # ------------------------------------------------------------ output

    def _json(self, status: int, document: object, headers: dict[str, str] | None = None) -> None:
        self._send(
            status, json.dumps(document).encode(), "application/json; charset=utf-8", headers
        )

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
