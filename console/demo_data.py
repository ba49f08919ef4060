"""Deterministic demo data: CRM-like Salesforce "Account" rows written as CSV.

Django-free so that the benchmark, tests and the first-run demo can all use it. Rows are built
column-wise with numpy and pyarrow in chunks and streamed to a temporary file next to the
target, which is renamed into place at the end: memory stays flat for any number of rows and a
reader never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ACCOUNT_COLUMNS = (
    "Id",
    "Name",
    "Type",
    "Industry",
    "AnnualRevenue",
    "NumberOfEmployees",
    "Phone",
    "Website",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "OwnerId",
    "CreatedDate",
    "LastModifiedDate",
)

_CHUNK_ROWS = 10_000
_BASE62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
_CHECKSUM_CHARS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"))

_NAME_FIRST = np.array(
    [
        "Acme",
        "Blue Harbor",
        "Northwind",
        "Summit",
        "Redwood",
        "Silverline",
        "Granite",
        "Evergreen",
        "Brightway",
        "Ironclad",
        "Crescent",
        "Pioneer",
        "Lumen",
        "Cobalt",
        "Harbor Point",
        "Maple",
        "Orion",
        "Sterling",
        "Vertex",
        "Willow",
        "Zenith",
        "Cascade",
        "Falcon",
        "Global",
        "Nordlicht",
        "Société Lumière",
        "Grupo Andino",
        "Kōyō",
        "Müller & Söhne",
        "Stellar",
    ]
)
_NAME_SECOND = np.array(
    [
        "Logistics",
        "Health",
        "Energy",
        "Foods",
        "Systems",
        "Capital",
        "Media",
        "Robotics",
        "Textiles",
        "Analytics",
        "Pharma",
        "Motors",
        "Telecom",
        "Retail",
        "Consulting",
        "Labs",
        "Works",
        "Outfitters",
    ]
)
_NAME_SUFFIX = np.array(["Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp.", "Group", "Holdings", "plc"])
_TYPES = np.array(["Customer - Direct", "Customer - Channel", "Prospect", "Partner", "Reseller", "Other"])
_INDUSTRIES = np.array(
    [
        "Agriculture",
        "Apparel",
        "Banking",
        "Biotechnology",
        "Chemicals",
        "Communications",
        "Construction",
        "Consulting",
        "Education",
        "Electronics",
        "Energy",
        "Engineering",
        "Entertainment",
        "Finance",
        "Food & Beverage",
        "Government",
        "Healthcare",
        "Hospitality",
        "Insurance",
        "Machinery",
        "Manufacturing",
        "Media",
        "Recreation",
        "Retail",
        "Shipping",
        "Technology",
        "Telecommunications",
        "Transportation",
        "Utilities",
    ]
)
_STREETS = np.array(
    [
        "Main St",
        "Market St",
        "Oak Ave",
        "Pine St",
        "Maple Ave",
        "Cedar Rd",
        "Elm St",
        "Lake Blvd",
        "Harbor Way",
        "Mission St",
        "Hauptstraße",
        "Rue de Rivoli",
        "Avenida Paulista",
        "King St W",
    ]
)
# city, state, postal code prefix, country: kept together so an address is plausible
_PLACES = [
    ("San Francisco", "CA", "941", "United States"),
    ("New York", "NY", "100", "United States"),
    ("Austin", "TX", "787", "United States"),
    ("Chicago", "IL", "606", "United States"),
    ("Seattle", "WA", "981", "United States"),
    ("Boston", "MA", "021", "United States"),
    ("Denver", "CO", "802", "United States"),
    ("Atlanta", "GA", "303", "United States"),
    ("Toronto", "ON", "M5V", "Canada"),
    ("Montréal", "QC", "H2X", "Canada"),
    ("London", "", "EC1", "United Kingdom"),
    ("München", "BY", "803", "Germany"),
    ("Zürich", "ZH", "800", "Switzerland"),
    ("São Paulo", "SP", "013", "Brazil"),
    ("Paris", "", "750", "France"),
    ("Sydney", "NSW", "200", "Australia"),
]
_CITY = np.array([p[0] for p in _PLACES])
_STATE = np.array([p[1] for p in _PLACES])
_ZIP = np.array([p[2] for p in _PLACES])
_COUNTRY = np.array([p[3] for p in _PLACES])
_OWNER_COUNT = 25
_CREATED_FROM = np.datetime64("2016-01-01T00:00:00", "s")
_CREATED_SPAN_S = 8 * 365 * 86400


def write_accounts_csv(path: str | os.PathLike[str], rows: int = 10_000, seed: int = 7) -> Path:
    """Write `rows` demo Account records to `path` (CSV with a header row) and return the path.

    The same (rows, seed) always gives the same bytes. Ids are 18-character Salesforce-style
    ids with a valid case-safe suffix, unique within a file.
    """
    if rows < 0:
        raise ValueError(f"rows must be 0 or more, not {rows}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    rng = np.random.default_rng(seed)
    schema = pa.schema([(name, pa.string()) for name in ACCOUNT_COLUMNS])
    try:
        with pacsv.CSVWriter(str(tmp), schema) as writer:
            for start in range(0, rows, _CHUNK_ROWS):
                writer.write_table(_accounts_chunk(rng, start, min(_CHUNK_ROWS, rows - start)))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _accounts_chunk(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    index = np.arange(start, start + n, dtype=np.int64)
    place = rng.integers(0, len(_PLACES), n)
    name = _join(
        rng.choice(_NAME_FIRST, n), " ", rng.choice(_NAME_SECOND, n), " ", rng.choice(_NAME_SUFFIX, n)
    )
    slug = pc.replace_substring_regex(pc.utf8_lower(pa.array(name)), r"[^a-z0-9]+", "")
    website = _join(np.full(n, "www."), slug.to_numpy(zero_copy_only=False), ".example.com")
    phone = _join(
        np.full(n, "("),
        _digits(rng.integers(200, 999, n), 3),
        ") 555-",
        _digits(rng.integers(0, 10_000, n), 4),
    )
    street = _join(rng.integers(1, 9_999, n).astype(str), " ", rng.choice(_STREETS, n))
    postal = _join(_ZIP[place], _digits(rng.integers(0, 100, n), 2))
    employees = np.maximum(1, rng.lognormal(4.5, 1.6, n)).astype(np.int64)
    revenue = (employees * rng.integers(80, 400, n) * 1000).astype(str)
    created_s = rng.integers(0, _CREATED_SPAN_S, n)
    modified_s = created_s + rng.integers(0, 2 * 365 * 86400, n)
    columns = {
        "Id": _salesforce_ids("0015g00000", (index * 104_729 + 1_234_567) % 62**5),
        "Name": name,
        "Type": rng.choice(_TYPES, n),
        "Industry": rng.choice(_INDUSTRIES, n),
        "AnnualRevenue": revenue,
        "NumberOfEmployees": employees.astype(str),
        "Phone": _blank_some(rng, phone, 0.05),
        "Website": _blank_some(rng, website, 0.12),
        "BillingStreet": street,
        "BillingCity": _CITY[place],
        "BillingState": _STATE[place],
        "BillingPostalCode": postal,
        "BillingCountry": _COUNTRY[place],
        "OwnerId": _salesforce_ids("0055g00000", rng.integers(0, _OWNER_COUNT, n) * 7919 + 1000),
        "CreatedDate": _iso(created_s),
        "LastModifiedDate": _iso(np.minimum(modified_s, _CREATED_SPAN_S + 2 * 365 * 86400)),
    }
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


def _join(*parts: np.ndarray | str) -> np.ndarray:
    out = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        out = np.char.add(out, part if isinstance(part, str) else np.asarray(part).astype(str))
    return out


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(values.astype(str), width)


def _blank_some(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    values = np.array(values, dtype=object)
    values[rng.random(len(values)) < share] = ""
    return values


def _iso(seconds: np.ndarray) -> np.ndarray:
    stamps = (_CREATED_FROM + seconds.astype("timedelta64[s]")).astype(str)
    return np.char.add(stamps, ".000Z")


def _salesforce_ids(prefix: str, numbers: np.ndarray) -> np.ndarray:
    """15-character ids (prefix + 5 base62 digits) plus Salesforce's 3-character case-safe suffix:
    one character per 5-character block, encoding which of its characters are upper case."""
    digits = np.empty((len(numbers), 5), dtype="<U1")
    rest = numbers.copy()
    for col in range(4, -1, -1):
        digits[:, col] = _BASE62[rest % 62]
        rest //= 62
    body = np.char.add(prefix, _join(*(digits[:, i] for i in range(5))))
    suffix = [_CHECKSUM_CHARS[_upper_bits(prefix[0:5])], _CHECKSUM_CHARS[_upper_bits(prefix[5:10])]]
    bits = np.zeros(len(numbers), dtype=np.int64)
    for i in range(5):
        bits |= np.char.isupper(digits[:, i]).astype(np.int64) << i
    return np.char.add(np.char.add(body, suffix[0] + suffix[1]), _CHECKSUM_CHARS[bits])


def _upper_bits(block: str) -> int:
    return sum(1 << i for i, ch in enumerate(block) if ch.isupper())
