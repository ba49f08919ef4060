"""Write the benchmark's CRM-like Account CSV: 20 text columns, about 365 bytes a row.

    .venv/bin/python bench/generate_crm.py /tmp/sluice-bench/accounts.csv --rows 1000000

Deterministic for a (rows, seed) pair. Built column-wise with numpy and pyarrow, chunk by chunk,
so generating 10,000,000 rows takes little memory. The columns the job uses are shaped for it:
Industry is Technology, Finance or Healthcare in 60% of rows, AnnualRevenue is uniform in
[0, 10,000,000), so the job's filter (one of those three AND AnnualRevenue > 4,000,000) keeps
about 36% of the rows; Phone, Description, Name and BillingCountry are there to mask, truncate and
concatenate.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

COLUMNS = (
    "Id",
    "Name",
    "Type",
    "Industry",
    "AnnualRevenue",
    "NumberOfEmployees",
    "Phone",
    "Fax",
    "Website",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "Description",
    "Rating",
    "AccountSource",
    "OwnerId",
    "CreatedDate",
    "LastModifiedDate",
)
TOP_INDUSTRIES = ("Technology", "Finance", "Healthcare")
OTHER_INDUSTRIES = (
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
    "Government",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Retail",
    "Shipping",
    "Utilities",
)
_FIRST = (
    "Acme",
    "Blue Harbor",
    "Northwind",
    "Summit",
    "Redwood",
    "Silverline",
    "Granite",
    "Evergreen",
    "Société Lumière",
    "Kōyō",
    "Müller & Söhne",
    "Grupo Andino",
    "Orion",
    "Vertex",
    "Zenith",
    "Willow",
)
_SECOND = (
    "Logistics",
    "Health",
    "Energy",
    "Foods",
    "Systems",
    "Capital",
    "Media",
    "Robotics",
    "Analytics",
    "Pharma",
    "Motors",
    "Telecom",
    "Retail",
    "Consulting",
    "Labs",
    "Works",
)
_SUFFIX = ("Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp.", "Group", "plc")
_PLACES = (
    ("San Francisco", "CA", "94105", "United States"),
    ("New York", "NY", "10001", "United States"),
    ("Austin", "TX", "78701", "United States"),
    ("Toronto", "ON", "M5V 2T6", "Canada"),
    ("London", "", "EC1A 1BB", "United Kingdom"),
    ("München", "BY", "80331", "Germany"),
    ("Zürich", "ZH", "8001", "Switzerland"),
    ("São Paulo", "SP", "01310-100", "Brazil"),
    ("Paris", "", "75001", "France"),
    ("Sydney", "NSW", "2000", "Australia"),
    ("Oslo", "", "0150", "Norway"),
)
_STREETS = (
    "Main St",
    "Market St",
    "Oak Ave",
    "Hauptstraße",
    "Rue de Rivoli",
    "Avenida Paulista",
    "King St W",
)
_WORDS = np.array(
    "leading provider of integrated solutions for enterprise customers across global markets with a focus "
    "on quality service innovation and long term partnerships in regulated industries".split()
)
_TYPES = ("Customer - Direct", "Customer - Channel", "Prospect", "Partner", "Reseller", "Other")
_RATINGS = ("Hot", "Warm", "Cold")
_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Trade Show", "Other")
_CHUNK = 50_000


def write_crm_csv(path: str | os.PathLike[str], rows: int, seed: int = 42) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    rng = np.random.default_rng(seed)
    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    with pacsv.CSVWriter(str(tmp), schema) as writer:
        for start in range(0, rows, _CHUNK):
            writer.write_table(_chunk(rng, start, min(_CHUNK, rows - start)))
    os.replace(tmp, target)
    return target


def _pick(rng: np.random.Generator, values, n: int, p=None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p)], pa.string())


def _digits(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    return pa.array(np.char.zfill(rng.integers(0, 10**width, n).astype(str), width), pa.string())


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _chunk(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    ids = pa.array([f"0015g{i:013d}" for i in range(start, start + n)], pa.string())
    name = _join(_pick(rng, _FIRST, n), _pick(rng, _SECOND, n), _pick(rng, _SUFFIX, n), sep=" ")
    industry_p = [0.2] * 3 + [0.4 / len(OTHER_INDUSTRIES)] * len(OTHER_INDUSTRIES)
    industry = _pick(rng, TOP_INDUSTRIES + OTHER_INDUSTRIES, n, p=industry_p)
    revenue = pa.array(rng.integers(0, 10_000_000, n).astype(str), pa.string())
    employees = pa.array(rng.integers(1, 50_000, n).astype(str), pa.string())
    phone = _join("+1 ", _digits(rng, n, 3), " ", _digits(rng, n, 3), " ", _digits(rng, n, 4))
    fax = _join("+1 ", _digits(rng, n, 3), " ", _digits(rng, n, 3), " ", _digits(rng, n, 4))
    website = _join(
        "https://www.", pc.utf8_lower(pc.replace_substring(_pick(rng, _FIRST, n), " ", "")), ".example.com"
    )
    place = rng.integers(0, len(_PLACES), n)
    city, state, postal, country = (
        pa.array(np.asarray([p[k] for p in _PLACES], dtype=object)[place], pa.string()) for k in range(4)
    )
    street = _join(
        pa.array(rng.integers(1, 9999, n).astype(str), pa.string()), _pick(rng, _STREETS, n), sep=" "
    )
    words = _WORDS[rng.integers(0, len(_WORDS), (n, 9))]
    description = pa.array([" ".join(row).capitalize() + "." for row in words.tolist()], pa.string())
    owner = _join("0055g", _digits(rng, n, 13))
    created = rng.integers(1_451_606_400, 1_700_000_000, n)
    modified = created + rng.integers(0, 86_400 * 365, n)
    as_text = lambda seconds: pa.array(  # noqa: E731 - a local helper reads best next to its uses
        np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype(object), pa.string()
    )
    created_text = _join(as_text(created), ".000Z")
    modified_text = _join(as_text(modified), ".000Z")
    columns = [
        ids,
        name,
        _pick(rng, _TYPES, n),
        industry,
        revenue,
        employees,
        phone,
        fax,
        website,
        street,
        city,
        state,
        postal,
        country,
        description,
        _pick(rng, _RATINGS, n),
        _pick(rng, _SOURCES, n),
        owner,
        created_text,
        modified_text,
    ]
    return pa.Table.from_arrays(columns, names=list(COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    path = write_crm_csv(args.path, args.rows, args.seed)
    print(f"{path}: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
