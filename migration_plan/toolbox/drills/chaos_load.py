"""The chaos drill's write load: signed counter moves through the front door, as a user in a session.

Each client logs in once through the front door (the monolith's login form, ``login``), then sends
``POST <write_path> {<delta_key>: d}`` (``{id}`` the counter's id; strangler.toml's ``[drills.write]``)
with its session cookie and CSRF token: first back to back for a few seconds (``measure_capacity``: what
the route sustains), then at a stated rate (``start``). The same request is valid on both sides: the
monolith checks the session itself; for the service the proxy turns the session into the signed
identity the service trusts, so the writes follow the route's owner through every flip and rollback
(HTTP basic auth would only ever reach the monolith).

Counters are split in two: ``up`` ones only ever get positive moves, ``down`` ones only negative
ones, so a counter's net move tells lost moves (short of the acknowledged ones) apart from duplicated
ones (beyond the acknowledged plus the unknown ones), whatever the order of the moves.

Every write's outcome goes to the :class:`DeltaLedger`: acknowledged (2xx), refused (a clear answer that
nothing was applied: 4xx, the front door's ``writes_fenced`` / ``circuit_open`` 503 or
``upstream_unreachable`` 502, or no connection at all) or unknown (a timeout, a broken connection, any
other 5xx). Writes are never retried: a write whose outcome is unknown stays unknown.

With ``fields`` (:mod:`.chaos_fields`) a part of the writes change a record's field instead: each field id
belongs to one client, which sends that id's changes one after the other, each outcome in the
:class:`~.chaos_fields.FieldLedger` by the same rules.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import httpx2

from migration_plan.toolbox.drills.capacity import Capacity
from migration_plan.toolbox.drills.chaos_fields import FieldLedger, FieldWrites, field_owners, field_value
from migration_plan.toolbox.drills.load import TARGET_HEADER
from migration_plan.toolbox.drills.pacing import measure_closed_loop, paced_starts

__all__ = ["NOT_SENT_ERRORS", "ChaosLoad", "ChaosLoadSettings", "DeltaLedger", "LoginFailed"]

NOT_SENT_ERRORS = frozenset({"writes_fenced", "circuit_open", "upstream_unreachable"})
"""Front-door error codes that guarantee the write reached no side."""

_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class LoginFailed(Exception):
    """A load client could not log in through the front door."""


@dataclass(frozen=True)
class ChaosLoadSettings:
    front_url: str
    write_path: str
    """The write, ``{id}`` the counter's id."""
    delta_key: str = "delta"
    """The body key of the move."""
    login: str = "/accounts/login/"
    """The monolith's login form, through the front door."""
    up_products: tuple[int, ...] = (1, 2, 3)
    down_products: tuple[int, ...] = (4, 5, 6)
    clients: int = 4
    max_delta: int = 3
    """Each move is 1..max_delta units (negative on ``down`` products)."""
    timeout_s: float = 10.0
    staff: tuple[str, str] = ("", "")
    """Who logs in: user and password."""
    seed: int = 1
    fields: FieldWrites | None = None
    """Field changes besides the moves (None: moves only)."""


@dataclass
class DeltaLedger:
    """Per product, in units of the product's direction (always >= 0), and per outcome."""

    acknowledged: Counter[int] = field(default_factory=Counter)
    unknown: Counter[int] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    """Number of writes per outcome (acknowledged, unknown, refused), and per cause or, for acknowledged
    ones, per side that answered (``acknowledged: by new``)."""

    def record(self, product: int, units: int, outcome: str, cause: str | None = None) -> None:
        getattr(self, outcome)[product] += units
        self.writes[outcome] += 1
        if cause is not None:
            self.writes[f"{outcome}: {cause}"] += 1


class ChaosLoad:
    """``start()`` logs every client in and starts them; ``stop()`` waits for the writes in flight."""

    def __init__(self, settings: ChaosLoadSettings) -> None:
        self.settings = settings
        self.ledger = DeltaLedger()
        self.field_ledger = FieldLedger()
        fields = settings.fields
        self.owners = field_owners(fields.ids, settings.clients) if fields is not None else {}
        """Client index -> the field ids only it writes."""
        self._sent: dict[int, int] = {}
        """Field id -> changes sent so far (the next one's number)."""
        self.not_sent = 0
        """Writes skipped because their client was still waiting for the previous answer."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[httpx2.Client] = []
        self._errors: list[BaseException] = []

    @property
    def products(self) -> tuple[int, ...]:
        return self.settings.up_products + self.settings.down_products

    def direction(self, product: int) -> int:
        return -1 if product in self.settings.down_products else 1

    def login(self) -> httpx2.Client:
        """A client holding a staff session (cookie ``sessionid``) and its CSRF cookie."""
        login = self.settings.login
        client = httpx2.Client(base_url=self.settings.front_url, timeout=self.settings.timeout_s)
        try:
            page = client.get(login)
            found = _CSRF_FIELD.search(page.text)
            if page.status_code != 200 or found is None:
                raise LoginFailed(f"GET {login} answered {page.status_code} without a CSRF token")
            user, password = self.settings.staff
            answer = client.post(
                login,
                data={"username": user, "password": password, "csrfmiddlewaretoken": found.group(1)},
                headers={"Referer": f"{self.settings.front_url}{login}"},
            )
            if answer.status_code != 302 or "sessionid" not in client.cookies:
                raise LoginFailed(f"logging in as {user} answered {answer.status_code}: {answer.text[:200]}")
        except BaseException:
            client.close()
            raise
        return client

    def log_in(self) -> None:
        """Log every client in (once)."""
        while len(self._clients) < self.settings.clients:
            self._clients.append(self.login())

    def measure_capacity(self, seconds: float) -> Capacity:
        """The stock writes the route sustains: every client writes back to back for ``seconds``. These
        are writes like the load's: each goes to the ledger, none is retried."""
        self.log_in()
        rngs = {
            id(client): random.Random(f"{self.settings.seed}-probe-{n}")
            for n, client in enumerate(self._clients)
        }

        def write(client: httpx2.Client) -> bool:
            rng = rngs[id(client)]
            product = rng.choice(self.products)
            return self._write(client, product, rng.randint(1, self.settings.max_delta)) == "acknowledged"

        return measure_closed_loop(self._clients, write, seconds=seconds, what="stock writes")

    def start(self, rate: float) -> None:
        """The clients write at ``rate`` writes per second, all together, until ``stop()``."""
        if rate <= 0:
            raise ValueError("the write rate must be more than 0")
        self.log_in()
        for index, client in enumerate(self._clients):
            rng = random.Random(f"{self.settings.seed}-{index}")
            thread = threading.Thread(
                target=self._run,
                args=(client, rng, rate, self.owners.get(index, ())),
                name=f"chaos-load-{index}",
                daemon=True,
            )
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.settings.timeout_s + 10)
        for client in self._clients:
            client.close()
        if self._errors:
            raise RuntimeError(f"a chaos load client failed: {self._errors[0]!r}") from self._errors[0]

    def _run(self, client: httpx2.Client, rng: random.Random, rate: float, owned: tuple[int, ...]) -> None:
        """One client's writes, one at a time: moves, and changes of the field ids it ``owned``."""
        fields = self.settings.fields
        try:
            for skipped in paced_starts(self._stop, self.settings.clients / rate, rng):
                if skipped:
                    with self._lock:
                        self.not_sent += skipped
                if fields is not None and owned and rng.random() < fields.share:
                    self._change_field(client, rng.choice(owned))
                    continue
                product = rng.choice(self.products)
                units = rng.randint(1, self.settings.max_delta)
                self._write(client, product, units)
        except BaseException as exc:  # reported by stop()
            self._errors.append(exc)

    def _write(self, client: httpx2.Client, product: int, units: int) -> str:
        """One write, never retried; its outcome (acknowledged, refused, unknown) goes to the ledger."""
        delta = units * self.direction(product)
        body: dict[str, object] = {self.settings.delta_key: delta}
        outcome, cause = self._send(client, "POST", self.settings.write_path, product, body)
        with self._lock:
            self.ledger.record(product, units, outcome, cause)
        return outcome

    def _change_field(self, client: httpx2.Client, record: int) -> str:
        """One change of field id ``record`` (only its owner calls this), never retried."""
        fields = self.settings.fields
        assert fields is not None
        n = self._sent.get(record, 0) + 1
        self._sent[record] = n
        value = field_value(self.settings.seed, record, n)
        outcome, cause = self._send(client, fields.method, fields.path, record, {fields.key: value})
        with self._lock:
            self.field_ledger.record(record, value, outcome)
            self.ledger.writes[f"field change {outcome}"] += 1
            if cause is not None:
                self.ledger.writes[f"field change {outcome}: {cause}"] += 1
        return outcome

    def put_fields_back(self, values: dict[int, str]) -> list[str]:
        """Set each field id back to ``values`` through the front door (a session of its own); what
        failed, said."""
        fields = self.settings.fields
        if fields is None or not values:
            return []
        notes = []
        client = self.login()  # already open: ``with`` would open it again
        try:
            for record, value in sorted(values.items()):
                outcome, cause = self._send(client, fields.method, fields.path, record, {fields.key: value})
                if outcome != "acknowledged":
                    notes.append(f"field {record} was not set back to {value!r}: {outcome} ({cause})")
        finally:
            client.close()
        return notes

    def _send(
        self, client: httpx2.Client, method: str, path: str, record: int, body: dict[str, object]
    ) -> tuple[str, str | None]:
        """One request with the session's CSRF token: its outcome and cause (as the ledger has them)."""
        token = client.cookies.get("csrftoken") or ""
        try:
            response = client.request(
                method, path.replace("{id}", str(record)), json=body, headers={"X-CSRFToken": token}
            )
        except httpx2.ConnectError:
            return "refused", "no connection to the front door"
        except httpx2.TransportError as exc:  # timeout, broken connection: it may have been applied
            return "unknown", type(exc).__name__
        outcome, cause = _judge(response)
        if outcome == "acknowledged":
            cause = f"by {response.headers.get(TARGET_HEADER, 'an unknown side')}"
        return outcome, cause


def _judge(response: httpx2.Response) -> tuple[str, str | None]:
    status = response.status_code
    if 200 <= status < 300:
        return "acknowledged", None
    if status < 500:
        return "refused", f"http {status}"
    code = None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            code = response.json().get("error")
        except ValueError:
            code = None
    if code in NOT_SENT_ERRORS:
        return "refused", f"http {status} {code}"
    return "unknown", f"http {status}" + (f" {code}" if code else "")
