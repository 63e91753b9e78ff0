"""The scenarios: what each one loads, on which servers, with how many connections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.data import HOT

OURS = "productcore"
OURS_OFF = "productcore, limiter off"
OURS_QUIET = "productcore, access log off"
OURS_UVICORN = "productcore on uvicorn (uvloop, httptools)"
REFERENCE = "FastAPI reference"
CEILING_GRANIAN = "ceiling: granian"
CEILING_UVICORN = "ceiling: uvicorn"
CEILINGS = (CEILING_GRANIAN, CEILING_UVICORN)


@dataclass(frozen=True)
class Row:
    """A contender in a scenario: its label and the servers it loads (two for the mix)."""

    contender: str
    servers: tuple[str, ...]
    warm_l1: bool = False  # walk the hot set as the scenario starts: L1 entries live 30 s, a round is longer


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    load: str  # "hot", "miss", "put", "mix", or the name of a request file
    connections: int
    rows: tuple[Row, ...]
    vs_ceiling: bool = False
    fixed_rate: bool = False  # also measured at a fixed rate, half the reference's saturated rate


def _ours_and_reference(*, limiter_off: bool = False) -> tuple[Row, ...]:
    rows = [Row(OURS, ("ours",))]
    if limiter_off:
        rows.append(Row(OURS_OFF, ("ours-limiter-off",)))
    return (*rows, Row(REFERENCE, ("reference",)))


SCENARIOS = (
    Scenario(
        "get_l1",
        "GET by id, L1 hit",
        "hot",
        32,
        (
            Row(OURS, ("ours",), warm_l1=True),
            Row(OURS_OFF, ("ours-limiter-off",), warm_l1=True),
            Row(OURS_QUIET, ("ours-quiet",), warm_l1=True),
            Row(OURS_UVICORN, ("ours-uvicorn",), warm_l1=True),
            Row(REFERENCE, ("reference",)),
            Row(CEILING_GRANIAN, ("ceiling-granian",)),
            Row(CEILING_UVICORN, ("ceiling-uvicorn",)),
        ),
        vs_ceiling=True,
        fixed_rate=True,
    ),
    Scenario(
        "get_redis",
        "GET by id, Redis hit (L1 off)",
        "hot",
        32,
        (
            Row(OURS, ("ours-no-l1",)),
            Row(OURS_OFF, ("ours-no-l1-limiter-off",)),
            Row(REFERENCE, ("reference",)),
        ),
        vs_ceiling=True,
        fixed_rate=True,
    ),
    Scenario(
        "get_miss", "GET by id, miss (ids never read)", "miss", 32, _ours_and_reference(limiter_off=True)
    ),
    Scenario("list_first", "list page 1 with total", "first", 16, _ours_and_reference()),
    Scenario("deep_offset", "deep page by offset (page 25,000)", "offset", 16, _ours_and_reference()),
    Scenario("deep_cursor", "deep page by cursor (row 500,000)", "cursor", 16, (Row(OURS, ("ours",)),)),
    Scenario(
        "search_rare", "name search, rare substring", "rare", 16, _ours_and_reference(), fixed_rate=True
    ),
    Scenario("search_common", "name search, common substring", "common", 16, _ours_and_reference()),
    Scenario("price_range", "price range", "price", 16, _ours_and_reference()),
    Scenario("put", "PUT on random ids", "put", 16, _ours_and_reference(limiter_off=True)),
    Scenario(
        "mix",
        "95/5 read/write mix, two instances",
        "mix",
        16,
        (Row(OURS, ("ours", "ours-2")), Row(REFERENCE, ("reference", "reference-2"))),
    ),
)


@dataclass(frozen=True)
class Plan:
    """What the Lua script needs per run: request files, the write key, and the id ranges."""

    files: dict[str, Path]
    token: str
    count: int
    rounds: int

    @property
    def put_from(self) -> int:
        """PUTs go to the last tenth of the ids, never read by the other scenarios."""
        return self.count - self.count // 10 + 1

    def miss_range(self, round_no: int, row_no: int, rows: int) -> tuple[int, int]:
        """Ids that no earlier run read: one disjoint block per round and contender, past the hot set."""
        block = (self.put_from - HOT - 1) // (self.rounds * rows)
        start = HOT + 1 + (round_no * rows + row_no) * block
        return start, start + block

    def lua_args(self, scenario: Scenario, round_no: int, row_no: int) -> list[str]:
        if scenario.load == "hot":
            return ["hot", "/products/", "1", str(HOT)]
        if scenario.load == "miss":
            start, end = self.miss_range(round_no, row_no, len(scenario.rows))
            return ["walk", "/products/", str(start), str(end), "1"]
        if scenario.load == "put":
            return ["put", str(self.put_from), str(self.count - self.put_from + 1), self.token]
        if scenario.load == "mix":
            return ["mix", "1", str(HOT), self.token, "5"]
        return ["paths", str(self.files[scenario.load])]
