"""The mapping CSV file (AppFlow's `source, destination` lines): every problem with its line,
nothing applied from a file with problems, and a download that uploads back to the same mapping."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.wizard.mapping_csv import MAX_BYTES, CsvMapping, mapping_csv, parse_mapping_csv

FIELDS = {"Id": "string", "Name": "string", "AnnualRevenue": "double", "CreatedDate": "datetime",
          "Billing, City": "string", " padded": "string", 'say "hi"': "string"}


def lines(result: CsvMapping) -> list[str]:
    return [str(p) for p in result.problems]


def test_appflow_format_with_spaces_and_typed_sources():
    data = b"Id, account_id\nName,name\n\nAnnualRevenue|double, revenue\r\nCreatedDate|DateTime,created\n"
    result = parse_mapping_csv(data, FIELDS)
    assert result.ok
    assert result.pairs == (("Id", "account_id"), ("Name", "name"), ("AnnualRevenue", "revenue"),
                            ("CreatedDate", "created"))


def test_every_problem_is_reported_with_its_line_and_nothing_is_applied():
    data = (b"Id,account_id\n"
            b"Nmae,name\n"
            b"Name,account_id\n"
            b",empty_source\n"
            b"Name,\n"
            b"Name,a,b\n"
            b"AnnualRevenue|string,revenue\n"
            b"Nothing|double,x\n")
    result = parse_mapping_csv(data, FIELDS)
    assert result.pairs == ()
    assert lines(result) == [
        'line 2: the source object has no field "Nmae"; did you mean "Name"?',
        'line 3: the destination field "account_id" is already mapped on line 1; each destination field takes one source.',
        "line 4: the source field name is empty.",
        "line 5: the destination field name for Name is empty.",
        "line 6: expected 2 columns (source field, destination field), found 3. Quote a name that holds a comma.",
        'line 7: AnnualRevenue is double at the source, not "string". Correct the type after | or leave it out.',
        'line 8: the source object has no field "Nothing".',
    ]


def test_not_utf8_names_the_line():
    result = parse_mapping_csv(b"Id,id\nName,n\xe9\n", FIELDS)
    assert lines(result) == ["line 2: the file is not UTF-8 text (byte 0xe9). Save it as CSV UTF-8 and upload it again."]


def test_a_file_over_one_megabyte_is_refused_whole():
    result = parse_mapping_csv(b"Id,id\n" * (MAX_BYTES // 6 + 1), FIELDS)
    assert result.pairs == ()
    assert "the file is over 1 MB" in lines(result)[0]


def test_quoted_names_header_and_bom():
    data = '\ufeffsource field,destination field\n"Billing, City",city\n" padded",p\n"say ""hi""",hi\n'
    result = parse_mapping_csv(data.encode(), FIELDS)
    assert result.ok, lines(result)
    assert result.pairs == (("Billing, City", "city"), (" padded", "p"), ('say "hi"', "hi"))


def test_an_empty_file_says_what_to_write():
    assert lines(parse_mapping_csv(b"\n\n", FIELDS)) == [
        "the file holds no mappings: write one pair per line, like: Name, account_name"]


def test_control_characters_in_a_destination_are_refused():
    result = parse_mapping_csv(b'Id,"a\nb"\n', FIELDS)
    assert lines(result) == ["line 1: the destination field name holds a line break or another control character."]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_give_a_clean_answer(data):
    result = parse_mapping_csv(data, FIELDS)
    assert isinstance(result, CsvMapping)
    assert bool(result.pairs) != bool(result.problems)
    assert all(isinstance(str(p), str) and p.line >= 0 for p in result.problems)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=30))
def test_random_text_lines_give_a_clean_answer(texts):
    result = parse_mapping_csv("\n".join(texts).encode("utf-8", "surrogatepass"), FIELDS)
    assert bool(result.pairs) != bool(result.problems)


names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


def test_names_with_spaces_at_their_ends_and_quotes_round_trip():
    fields = dict.fromkeys([" 1", "1", 'a "b"', "x,y", "tail "], "string")
    pairs = ((" 1", "one"), ("1", "also one"), ('a "b"', "quoted"), ("x,y", "comma"), ("tail ", "t"))
    assert parse_mapping_csv(mapping_csv(pairs), fields).pairs == pairs


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_download_then_upload_gives_the_same_mapping(data):
    sources = data.draw(st.lists(names.filter(lambda n: n.strip()), min_size=1, max_size=10, unique=True))
    fields = dict.fromkeys(sources, "string")
    destinations = data.draw(st.lists(names.map(str.strip).filter(bool), min_size=1, max_size=10, unique=True))
    pairs = tuple((data.draw(st.sampled_from(sources)), d) for d in destinations)
    result = parse_mapping_csv(mapping_csv(pairs), fields)
    assert result.problems == ()
    assert result.pairs == pairs
