"""Realistic, seeded sample events written into an event lake.

The demo, the tests and the benchmark all use this data, so it carries what real
product-analytics events carry and what breaks naive exporters: dozens of event names
with skewed (Zipf-like) frequencies, per-event property sets of different types
(numbers, strings, booleans, nested objects, lists), identities with gaps, unicode,
nulls, very long values, and event names that are unsafe in object keys.

The same seed gives the same lake, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from airflow_export_provider.engine.events import (
    CANONICAL_SCHEMA,
    COMM_PREFS_TYPE,
    DEVICE_TYPE,
    EVENT_TIME_TYPE,
)

ValueMaker = Callable[[random.Random], Any]

_WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "Zoë",
    "Ørsted",
    "李雷",
    "Ελένη",
    "naïve café",
    "emoji 🚀",
    "O'Brien",
]
_CITIES = ["Berlin", "São Paulo", "Mumbai", "東京", "New York", "Kraków", "Reykjavík", None]
_CURRENCIES = ["EUR", "USD", "INR", "BRL", "JPY"]
_PLATFORMS = ["iOS", "Android", "Web"]


def _word(rng: random.Random) -> str:
    return rng.choice(_WORDS)


def _long_text(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + " ,\"'\n<>&;", k=rng.randint(200, 2000)))


PROPERTY_MAKERS: dict[str, tuple[pa.DataType, ValueMaker]] = {
    "amount": (pa.float64(), lambda r: round(r.uniform(0.5, 2500), 2)),
    "currency": (pa.string(), lambda r: r.choice(_CURRENCIES)),
    "item_id": (pa.string(), lambda r: f"sku-{r.randint(1, 9999):04d}"),
    "quantity": (pa.int64(), lambda r: r.randint(1, 12)),
    "category": (pa.string(), _word),
    "screen": (pa.string(), lambda r: r.choice(["home", "cart", "search", "profile", "über-uns"])),
    "duration_ms": (pa.int64(), lambda r: r.randint(5, 3_600_000)),
    "success": (pa.bool_(), lambda r: r.random() < 0.9),
    "query": (pa.string(), lambda r: r.choice(_WORDS) if r.random() > 0.01 else _long_text(r)),
    "page_url": (pa.string(), lambda r: f"https://example.com/{r.choice(_WORDS)}?a=1&b=2"),
    "referrer": (pa.string(), lambda r: r.choice(["google", "newsletter", None, "direct"])),
    "campaign_id": (pa.int64(), lambda r: r.randint(1000, 1099)),
    "rating": (pa.int64(), lambda r: r.randint(1, 5)),
    "comment": (
        pa.string(),
        lambda r: r.choice(["great", 'bad,"quoted"', "line\nbreak", "tab\there", "<xml>&"]),
    ),
    "tags": (pa.list_(pa.string()), lambda r: r.sample(_WORDS, r.randint(0, 3))),
    "cart": (
        pa.struct([("items", pa.int64()), ("total", pa.float64()), ("coupon", pa.string())]),
        lambda r: {
            "items": r.randint(1, 9),
            "total": round(r.uniform(1, 900), 2),
            "coupon": r.choice([None, "X10"]),
        },
    ),
    "level": (pa.int64(), lambda r: r.randint(1, 80)),
    "score": (pa.float64(), lambda r: r.uniform(-1e6, 1e6)),
    "is_first_time": (pa.bool_(), lambda r: r.random() < 0.2),
    "error_code": (pa.string(), lambda r: r.choice(["E1", "E42", "timeout", ""])),
    "big_number": (pa.int64(), lambda r: r.choice([2**53 + 1, -(2**62), 0])),
    "payload": (pa.string(), lambda r: json.dumps({"k": r.randint(0, 5), "v": [1, 2]})),
}

_GIVEN = ["Zoë", "Ångström", "Łukasz", "Søren", "José María", "Nguyễn", "李雷", "Ελένη", "Ана", "Siobhán"]
_FAMILY = [
    "Müller-Lüdenscheidt",
    "O'Brien",
    "de la Fuente",
    "Kowalczyk",
    "Þórsdóttir",
    "山田",
    "Παπαδόπουλος",
]


def _full_name(rng: random.Random) -> str:
    return f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS + _GIVEN + ["und", "the", "für", "naïve", "→"], k=rng.randint(8, 30)))


# The "wide" shape (bench/versus_duckdb.py): 32 properties, still 5-12 per event, so the
# window's property struct is wide and sparse, with longer strings (names, e-mails,
# addresses, user agents, free text) in many scripts.
WIDE_PROPERTY_MAKERS: dict[str, tuple[pa.DataType, ValueMaker]] = {
    **PROPERTY_MAKERS,
    "full_name": (pa.string(), _full_name),
    "contact_email": (pa.string(), lambda r: f"{r.choice(_GIVEN).lower()}.{r.randint(1, 9999)}@例え.example"),
    "address": (pa.string(), lambda r: f"{r.randint(1, 999)} {r.choice(_FAMILY)}, {r.choice(_CITIES[:-1])}"),
    "user_agent": (pa.string(), lambda r: f"Mozilla/5.0 ({r.choice(_PLATFORMS)}; rv:{r.randint(90, 130)}.0) "
                                          f"Gecko/20100101 Firefox/{r.randint(90, 130)}.0"),
    "description": (pa.string(), _sentence),
    "title": (pa.string(), lambda r: _sentence(r)[:60]),
    "utm_campaign": (pa.string(), lambda r: f"winter-sale-{r.choice(_WORDS)}-{r.randint(1, 40)}"),
    "note": (pa.string(), lambda r: r.choice(["", _sentence(r), "✓ erledigt", "line one\nline two"])),
    "order_total": (pa.float64(), lambda r: round(r.uniform(1, 10_000), 2)),
}  # fmt: skip
SHAPES = ("standard", "wide")


# Names chosen to hurt: spaces, slashes, dots, path traversal, unicode, empty, very long.
_HOSTILE_NAMES = [
    "page/view",
    "../../etc/passwd",
    "..",
    "Café ☕ ordered",
    "",
    "ev.dot.name",
    "100% done",
    "tab\tname",
    "x" * 180,
]
_BASE_NAMES = [
    "App Launched", "Charged", "Product Viewed", "Added To Cart", "Search", "Screen View",
    "Notification Viewed", "Notification Clicked", "Login", "Logout", "Signup", "App Uninstalled",
    "Rating Submitted", "Level Up", "Video Started", "Video Completed", "Share", "Wishlist Added",
    "Checkout Started", "Payment Failed", "Coupon Applied", "Profile Updated", "Push Opt-in",
    "Email Opened", "Email Clicked", "SMS Sent", "Session Concluded", "Error Shown",
    "Referral Sent", "Subscription Renewed", "Feedback", "Deep Link Opened",
]  # fmt: skip


@dataclass(frozen=True)
class EventType:
    name: str
    weight: float
    properties: tuple[str, ...]


def property_makers(shape: str = "standard") -> dict[str, tuple[pa.DataType, ValueMaker]]:
    if shape not in SHAPES:
        raise ValueError(f"unknown data shape {shape!r}; use one of {', '.join(SHAPES)}")
    return WIDE_PROPERTY_MAKERS if shape == "wide" else PROPERTY_MAKERS


def properties_type(shape: str = "standard") -> pa.StructType:
    makers = property_makers(shape)
    return pa.struct([(name, makers[name][0]) for name in sorted(makers)])


def event_types(seed: int = 7, *, hostile_names: bool = True, shape: str = "standard") -> list[EventType]:
    """Event names with Zipf-like weights and 5-12 properties each (3 for hostile names).

    ``hostile_names`` adds the names chosen to hurt (tests and the benchmark); the demo
    leaves them out, since its files land in a user's first bucket.
    """
    rng = random.Random(seed)
    names = _BASE_NAMES + (_HOSTILE_NAMES if hostile_names else [])
    property_names = sorted(property_makers(shape))
    types = []
    for rank, name in enumerate(names, start=1):
        count = 3 if name in _HOSTILE_NAMES else rng.randint(5, 12)
        types.append(EventType(name, 1.0 / rank, tuple(sorted(rng.sample(property_names, count)))))
    return types


def _users(rng: random.Random, count: int, *, wide: bool = False) -> pa.Table:
    """User-level columns (identities, profile, device, preferences), joined to events by index."""
    rows: dict[str, list[Any]] = {name: [] for name in CANONICAL_SCHEMA.names if name not in _EVENT_LEVEL}
    for index in range(count):
        rows["user_id"].append(f"u{index:07d}")
        rows["identity"].append(f"id-{index}" if rng.random() < 0.8 else None)
        email = (
            f"{rng.choice(_GIVEN).lower()}.{index}@beispiel-händler.example.com"
            if wide
            else f"user{index}@example.com"
        )
        rows["email"].append(email if rng.random() < 0.7 else None)
        rows["phone"].append(f"+4915{rng.randint(10**7, 10**8 - 1)}" if rng.random() < 0.5 else None)
        rows["custom_identities"].append({"crm_id": f"CRM-{index}" if rng.random() < 0.4 else None})
        rows["profile"].append(
            {
                "name": f"{_full_name(rng)} {index}" if wide else f"{rng.choice(_WORDS)} {index}",
                "city": rng.choice(_CITIES),
                "customer_type": rng.choice(["free", "pro", "enterprise"]),
                "age": rng.choice([None, rng.randint(16, 90)]),
                "vip": rng.random() < 0.05,
            }
        )
        platform = rng.choice(_PLATFORMS)
        rows["device"].append(
            {
                "platform": platform,
                "token": "".join(rng.choices(string.hexdigits, k=24)) if rng.random() < 0.7 else None,
                "make": None if platform == "Web" else rng.choice(["Apple", "Samsung", "Google"]),
                "model": None if platform == "Web" else rng.choice(["iPhone 15", "Galaxy S24", "Pixel 9"]),
                "app_version": f"5.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
                "sdk_version": "7.1.0",
                "os_version": rng.choice(["17.5", "14", "13", None]),
                "browser": rng.choice(["Chrome", "Firefox", "Safari"]) if platform == "Web" else None,
                "dpi": rng.choice([None, 320, 480]),
                "dimensions": rng.choice(["1170x2532", "1080x2400", None]),
            }
        )
        rows["comm_prefs"].append(
            {
                "subscription_groups": rng.sample(["news", "offers", "product"], rng.randint(0, 3)),
                "push": rng.random() < 0.6,
                "web_push": rng.random() < 0.2,
                "email": rng.random() < 0.7,
                "sms": rng.choice([True, False, None]),
                "whatsapp": rng.random() < 0.1,
            }
        )
    schema = pa.schema(
        [
            ("user_id", pa.string()),
            ("identity", pa.string()),
            ("email", pa.string()),
            ("phone", pa.string()),
            ("custom_identities", pa.struct([("crm_id", pa.string())])),
            (
                "profile",
                pa.struct(
                    [
                        ("name", pa.string()),
                        ("city", pa.string()),
                        ("customer_type", pa.string()),
                        ("age", pa.int64()),
                        ("vip", pa.bool_()),
                    ]
                ),
            ),
            ("device", DEVICE_TYPE),
            ("comm_prefs", COMM_PREFS_TYPE),
        ]
    )
    return pa.Table.from_pydict(rows, schema=schema)


_EVENT_LEVEL = ("event_name", "event_time", "properties")

PROPERTIES_TYPE = properties_type()


def generate_day(
    day: dt.date,
    events: int,
    *,
    seed: int = 7,
    users: int = 2_000,
    hostile_names: bool = True,
    shape: str = "standard",
) -> Iterator[pa.RecordBatch]:
    """Yield one UTC day of events in time order, in batches of at most 50,000 rows."""
    rng = random.Random(f"{seed}-{day.isoformat()}")
    types = event_types(seed, hostile_names=hostile_names, shape=shape)
    user_table = _users(random.Random(seed), users, wide=shape == "wide")
    makers = property_makers(shape)
    day_start_us = (
        int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()) * 1_000_000
    )
    remaining = events
    chunk_start_us = day_start_us
    chunk_count = max(1, -(-events // 50_000))
    span_us = 86_400_000_000 // chunk_count
    for chunk in range(chunk_count):
        size = min(50_000, remaining)
        remaining -= size
        yield _chunk(rng, types, user_table, size, chunk_start_us + chunk * span_us, span_us, makers)


def _chunk(
    rng: random.Random,
    types: list[EventType],
    user_table: pa.Table,
    size: int,
    start_us: int,
    span_us: int,
    makers: dict[str, tuple[pa.DataType, ValueMaker]],
) -> pa.RecordBatch:
    chosen = rng.choices(range(len(types)), weights=[t.weight for t in types], k=size)
    pieces: list[pa.RecordBatch] = []
    for type_index in sorted(set(chosen)):
        event_type = types[type_index]
        count = chosen.count(type_index)
        properties = {
            name: pa.array(
                [None if rng.random() < 0.05 else makers[name][1](rng) for _ in range(count)],
                type=makers[name][0],
            )
            for name in event_type.properties
        }
        struct = pa.StructArray.from_arrays(list(properties.values()), names=list(properties))
        pieces.append(
            pa.RecordBatch.from_pydict(
                {
                    "event_name": pa.array([event_type.name] * count, pa.string()),
                    "event_time": pa.array(
                        [start_us + rng.randrange(span_us) for _ in range(count)], pa.int64()
                    ),
                    "user_index": pa.array(
                        [int(rng.paretovariate(1.2)) % user_table.num_rows for _ in range(count)]
                    ),
                    "properties": struct.cast(pa.struct([(n, makers[n][0]) for n in sorted(makers)])),
                }
            )
        )
    merged = pa.Table.from_batches(pieces).combine_chunks()
    merged = merged.take(pc.sort_indices(merged, [("event_time", "ascending"), ("event_name", "ascending")]))
    users = user_table.take(merged.column("user_index"))
    columns = {
        "event_name": merged.column("event_name"),
        "event_time": merged.column("event_time").cast(pa.timestamp("us")).cast(EVENT_TIME_TYPE),
        **{name: users.column(name) for name in users.column_names},
        "properties": merged.column("properties"),
    }
    table = pa.table({name: columns[name] for name in CANONICAL_SCHEMA.names})
    return table.combine_chunks().to_batches()[0]


def write_lake(
    root: str | Path,
    start: dt.date,
    days: int,
    events_per_day: int,
    *,
    file_format: str = "parquet",
    seed: int = 7,
    hostile_names: bool = True,
    shape: str = "standard",
) -> list[Path]:
    """Write ``days`` days of events under ``root/date=YYYY-MM-DD/`` and return the files."""
    root = Path(root)
    files = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        folder = root / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-00000.{file_format}"
        batches = generate_day(day, events_per_day, seed=seed, hostile_names=hostile_names, shape=shape)
        if file_format == "parquet":
            _write_parquet(path, batches)
        elif file_format == "jsonl":
            _write_jsonl(path, batches)
        else:
            raise ValueError(f"unknown lake file format {file_format!r}; use parquet or jsonl")
        files.append(path)
    return files


def _write_parquet(path: Path, batches: Iterator[pa.RecordBatch]) -> None:
    writer: pq.ParquetWriter | None = None
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            writer.write_batch(batch, row_group_size=50_000)
    finally:
        if writer is not None:
            writer.close()


def _write_jsonl(path: Path, batches: Iterator[pa.RecordBatch]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for batch in batches:
            for row in batch.to_pylist():
                row["event_time"] = row["event_time"].isoformat()
                handle.write(json.dumps(_without_nulls(row), ensure_ascii=False) + "\n")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value
