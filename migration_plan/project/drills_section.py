"""``[drills]`` of ``strangler.toml``: what a rollback drill drills, its load and its write probe.

```toml
[drills]
route = "drill-things"              # the drilled route's name (--route wins); created when missing,
match = { kind = "prefix", path = "/api/things", methods = ["GET", "HEAD"] }   # with this match
upstream = "things"                 # the service it is flipped to (a [[services]] entry)
reads = [{ path = "/api/things/{id}", weight = 3 }, { path = "/api/things" }]  # the load on the route
legacy_reads = ["/about/"]          # the monolith's own traffic, the guards' baseline
first_id = 1                        # {id} in a path is drawn from first_id..last_id
last_id = 50
env = { MYSITE_SEED = "200" }       # for a stack the drill starts itself (without --attach)
prepare = ["{python} manage.py loaddata things"]   # run once that stack is ready

[drills.write]                      # the write probe: each write moves a counter of the monolith by one
path = "/api/counters/{id}"         # POST, with body, through the front door
body = { delta = 1 }
read = "/api/counters/{id}"         # GET on each side directly: the counter is `field` of its JSON
field = "value"                     # omitted: the answer is a JSON list, the counter its length
ids = [1, 2, 3]
user = "staff"                      # HTTP basic auth of the writes (the password from password_env)
password_env = "DRILL_PASSWORD"
undo = "delta"                      # the drill undoes its writes by posting {undo: -n}; omitted: they stay
check_service = false               # also check the service's own counter (it syncs the writes back)

[drills.chaos]                      # `strangler drill chaos`: faults under writes whose owner keeps moving
route = "drill-chaos"               # the route of [drills.write]'s writes (created when missing, with
match = { kind = "pattern", path = "/api/counters/[0-9]+", methods = ["POST"] }   # this match; default:
                                    # the write path, {id} as [0-9]+, POST)
login = "/accounts/login/"          # [drills.write]'s user logs in on the monolith (a Django login form):
                                    # a session follows the writes to either side, basic auth would not
up = [1, 2, 3]                      # counters only moved up (by 1 to 3 of [drills.write] undo's key)
down = [4, 5, 6]                    # counters only moved down (topped up first, put back afterwards)
fields = { path = "/api/things/{id}", method = "PATCH", key = "name", read = "/api/things/{id}", ids = [7] }
                                    # optional: field changes too (not commutative), each id written by one
                                    # client in order, its last acknowledged value checked on each side;
                                    # share = 0.25: the part of the writes that are field changes

[drills.crash]                      # `strangler drill orders-crash`: the checkout service killed under load
route = "drill-checkout"            # the checkout route (created when missing, with this match)
match = { kind = "prefix", path = "/api/checkouts" }
upstream = "checkout"               # the service killed (kill -9 of its process group) and restarted
login = "/accounts/login/"          # each customer logs in on the monolith (a Django login form)
users = "buyer{n:03d}"              # customers n = 1..customers, each with a session cart of their own
customers = 6
password_env = "DRILL_BUYER_PASSWORD"   # (or password = "..." for a demo's seeded customers)
cart = "/api/basket/lines"          # POST {product_id, quantity} fills the session cart
empty_cart = "/api/basket"          # DELETE empties it (before each round: a refused cart is let go)
checkout = "/api/checkouts"         # POST {} checks the session cart out (201 {order_no, lines})
order = "/api/checkouts/{order_no}" # GET: the order, on each side
stock = "/api/items/{id}"           # GET on the monolith: the item's stock is `stock_field`
stock_field = "stock"
products = [1, 2, 3]
recovery = "{python} -m my_checkout recover --every 1 --older-than {older_than}"  # the drill's worker
older_than_s = 3                    # stated in the report
pending = "{python} -m my_checkout pending"   # prints {"unfinished": N, "unreleased": M}
```
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strangler_proxy.routes import RuleMatch

__all__ = [
    "DrillChaosFieldsSection",
    "DrillChaosSection",
    "DrillCrashSection",
    "DrillReadSection",
    "DrillWriteSection",
    "DrillsSection",
]

_PATH = r"^/\S*$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrillReadSection(_Section):
    """One kind of request of the drill's load (``{id}`` is drawn from the ids)."""

    path: Annotated[str, Field(pattern=_PATH)]
    weight: Annotated[int, Field(ge=1, le=1000)] = 1


class DrillWriteSection(_Section):
    """The write probe: a POST that moves an integer counter of the monolith by exactly one."""

    path: Annotated[str, Field(pattern=_PATH)]
    body: dict[str, Any] = Field(default_factory=dict)
    read: Annotated[str, Field(pattern=_PATH)]
    field: str | None = None
    ids: Annotated[list[int], Field(min_length=1, max_length=100)] = Field(default_factory=lambda: [1])
    user: str | None = None
    password: str | None = None
    """The password in the file (a demo's seeded account); prefer ``password_env``."""
    password_env: str | None = None
    undo: str | None = None
    check_service: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> DrillWriteSection:
        if (self.password or self.password_env) and not self.user:
            raise ValueError("a password needs a user")
        if self.password and self.password_env:
            raise ValueError("give password or password_env, not both")
        if self.undo is not None and self.undo not in self.body:
            raise ValueError(f"undo = {self.undo!r} names no key of body")
        placeholders = "{id}" in self.path or "{id}" in self.read
        if not placeholders and len(self.ids) > 1:
            raise ValueError("several ids need {id} in path or read")
        return self


class DrillChaosFieldsSection(_Section):
    """Field changes of the chaos drill: ``method path {key: "chaos-<seed>-<id>-<n>"}``, each id written
    by one client in order; ``read`` answers the id's JSON with the field ``key`` (on each side)."""

    path: Annotated[str, Field(pattern=_PATH)]
    method: Literal["PATCH", "PUT", "POST"] = "PATCH"
    key: Annotated[str, Field(min_length=1, max_length=100)]
    read: Annotated[str, Field(pattern=_PATH)]
    ids: Annotated[list[int], Field(min_length=1, max_length=20)]
    share: Annotated[float, Field(gt=0, le=1)] = 0.25
    """The part of the writes that are field changes (the rest move the counters)."""

    @model_validator(mode="after")
    def _one_writer_per_id(self) -> DrillChaosFieldsSection:
        if "{id}" not in self.path or "{id}" not in self.read:
            raise ValueError("path and read need {id} (each id is a record of its own)")
        twice = sorted({i for i in self.ids if self.ids.count(i) > 1})
        if twice:
            raise ValueError(f"ids {twice} are listed twice (each id has one writer)")
        return self


class DrillChaosSection(_Section):
    """The chaos drill: [drills.write]'s writes, sent in sessions, on a route whose owner keeps moving."""

    route: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")] = "drill-chaos"
    match: RuleMatch | None = None
    login: Annotated[str, Field(pattern=_PATH)] = "/accounts/login/"
    up: Annotated[list[int], Field(min_length=1, max_length=50)]
    down: Annotated[list[int], Field(min_length=1, max_length=50)]
    fields: DrillChaosFieldsSection | None = None
    """Field changes besides the counters' moves (None: counters only)."""

    @model_validator(mode="after")
    def _apart(self) -> DrillChaosSection:
        both = sorted(set(self.up) & set(self.down))
        if both:
            raise ValueError(f"{both} are both up and down: a counter moves one way only")
        return self


class DrillCrashSection(_Section):
    """The crash drill: customers check out their session carts through the front door while the
    service behind the checkout route is killed; its recovery worker must leave nothing behind."""

    route: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")] = "drill-checkout"
    match: RuleMatch
    upstream: str
    login: Annotated[str, Field(pattern=_PATH)] = "/accounts/login/"
    users: Annotated[str, Field(min_length=1)]
    """A customer's username, ``{n}`` their number (format spec allowed: ``customer{n:04d}``)."""
    customers: Annotated[int, Field(ge=1, le=100)] = 6
    password: str | None = None
    password_env: str | None = None
    cart: Annotated[str, Field(pattern=_PATH)]
    empty_cart: Annotated[str, Field(pattern=_PATH)]
    checkout: Annotated[str, Field(pattern=_PATH)]
    order: Annotated[str, Field(pattern=_PATH)]
    stock: Annotated[str, Field(pattern=_PATH)]
    stock_field: str = "stock"
    products: Annotated[list[int], Field(min_length=1, max_length=50)]
    recovery: Annotated[str, Field(min_length=1)]
    older_than_s: Annotated[float, Field(ge=0, le=600)] = 3.0
    pending: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> DrillCrashSection:
        if bool(self.password) == bool(self.password_env):
            raise ValueError("give password or password_env (one of them)")
        if "{n" not in self.users:
            raise ValueError("users needs {n}: each customer has a session of their own")
        if "{order_no}" not in self.order or "{id}" not in self.stock:
            raise ValueError("order needs {order_no}, stock needs {id}")
        return self


class DrillsSection(_Section):
    route: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")] = "drill"
    match: RuleMatch | None = None
    """The rule match of a route the drill creates (the route model's match); default: a prefix match
    of the first read's path, GET and HEAD."""
    upstream: str
    reads: Annotated[list[DrillReadSection], Field(min_length=1)]
    legacy_reads: list[DrillReadSection] = Field(default_factory=list)
    first_id: Annotated[int, Field(ge=0)] = 1
    last_id: Annotated[int, Field(ge=0)] = 1
    write: DrillWriteSection | None = None
    chaos: DrillChaosSection | None = None
    crash: DrillCrashSection | None = None
    env: dict[str, str] = Field(default_factory=dict)
    """Variables of a stack a drill starts itself (``strangler drill`` without ``--attach``)."""
    prepare: list[str] = Field(default_factory=list)
    """Commands run in the project's folder once that stack is ready (``{python}``: the toolkit's)."""

    @field_validator("reads", "legacy_reads", mode="before")
    @classmethod
    def _plain_paths(cls, value: Any) -> Any:
        """A read may be a plain path (weight 1)."""
        if isinstance(value, list):
            return [{"path": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _ids(self) -> DrillsSection:
        if self.last_id < self.first_id:
            raise ValueError(f"last_id ({self.last_id}) is below first_id ({self.first_id})")
        return self
