"""The SSRF guard: names and addresses that must never be reached, and the checked address is
the one connected to. No database, no Django."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connections import net


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(-2, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]]

    monkeypatch.setattr(net.socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://127.1/",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://192.168.1.10/",
    "http://172.16.0.5/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[2002:7f00:1::]/",
])
def test_internal_addresses_are_refused(url, monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    with pytest.raises(net.BlockedAddress) as caught:
        net.request("GET", url, timeout=2)
    assert "Sluice does not connect there" in caught.value.message
    assert "SLUICE_NET_ALLOW" in caught.value.message


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"crm.example.com": ["10.1.2.3"]})
    with pytest.raises(net.BlockedAddress, match="crm.example.com.*10.1.2.3.*private"):
        net.request("GET", "https://crm.example.com/api")


def test_one_private_answer_among_public_ones_is_enough_to_refuse(monkeypatch):
    fake_dns(monkeypatch, {"mixed.example.com": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(net.BlockedAddress, match="link-local"):
        net.check_host("mixed.example.com", 5432)


def test_a_public_address_passes(monkeypatch):
    fake_dns(monkeypatch, {"api.example.com": ["93.184.216.34"]})
    assert str(net.check_host("api.example.com", 443)) == "93.184.216.34"


def test_only_http_and_https(monkeypatch):
    for url in ("file:///etc/passwd", "gopher://example.com/", "ftp://example.com/"):
        with pytest.raises(net.BlockedAddress, match="Only http and https"):
            net.request("GET", url)


def test_an_unknown_name_is_a_transient_error_that_names_the_host(monkeypatch):
    fake_dns(monkeypatch, {})
    with pytest.raises(net.ConnectorError, match='"nope.example.com" could not be found') as caught:
        net.request("GET", "https://nope.example.com/")
    assert not caught.value.permanent


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/redirect-internal":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = f'{{"host": "{self.headers["Host"]}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_the_allow_list_lets_an_on_premise_host_through(monkeypatch, local_server):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "crm.internal")
    asked = fake_dns(monkeypatch, {"crm.internal": ["127.0.0.1"]})
    response = net.request("GET", f"http://crm.internal:{local_server}/x")
    assert response.ok and response.json() == {"host": f"crm.internal:{local_server}"}
    assert asked == ["crm.internal"]  # resolved once: the connect used the checked address


def test_the_allow_list_takes_networks(monkeypatch, local_server):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.0/8")
    assert net.request("GET", f"http://127.0.0.1:{local_server}/").ok


def test_dns_rebinding_after_the_check_is_not_consulted(monkeypatch, local_server):
    """The name is resolved once; a second answer (pointing elsewhere) is never asked for."""
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    monkeypatch.setattr(net.socket, "getaddrinfo", getaddrinfo)
    assert net.request("GET", f"http://rebind.example:{local_server}/").ok


def test_redirects_are_off_by_default_and_rechecked_when_followed(monkeypatch, local_server):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    url = f"http://127.0.0.1:{local_server}/redirect-internal"
    response = net.request("GET", url)
    assert response.status == 302  # not followed
    with pytest.raises(net.BlockedAddress, match="169.254.169.254"):
        net.request("GET", url, max_redirects=3)


def test_the_module_imports_without_django():
    import subprocess
    import sys

    code = "import sys, connections.net; assert 'django' not in sys.modules, 'django imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_allow_list_entry_with_a_port_allows_only_that_port(monkeypatch, local_server):
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"127.0.0.1:{local_server}")
    assert net.request("GET", f"http://127.0.0.1:{local_server}/").ok
    with pytest.raises(net.BlockedAddress):
        net.check_host("127.0.0.1", 22)
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"[::1]:{local_server}")
    assert net.check_host("::1", local_server).is_loopback
    with pytest.raises(net.BlockedAddress):
        net.check_host("::1", 22)


@pytest.mark.parametrize("connector", ["PostgreSQL", "MySQL"])
def test_database_connectors_connect_only_through_the_guard(connector, monkeypatch):
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.registry import get_connector

    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    conn = ConnectionInfo("db", "CustomConnector", connector,
                          {"host": "127.0.0.1", "port": "5432", "database": "d"},
                          {"username": "u", "password": "p"})
    with pytest.raises(net.BlockedAddress) as caught:
        get_connector(connector).test(conn)
    assert "127.0.0.1" in caught.value.message and "SLUICE_NET_ALLOW" in caught.value.message


def test_the_s3_endpoint_url_goes_through_the_guard(monkeypatch):
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.registry import get_connector

    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    conn = ConnectionInfo("s3", "S3", "", {"region": "us-east-1", "endpointUrl": "http://169.254.169.254"},
                          {"accessKeyId": "k", "secretAccessKey": "s", "bucketName": "b"})
    with pytest.raises(net.BlockedAddress):
        get_connector("S3").test(conn)


# -- hosts written as addresses are normalised before the check, not left to the resolver ----------


@pytest.mark.parametrize("host, meaning", [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),          # one decimal number
    ("0x7f000001", "127.0.0.1"),          # one hex number
    ("017700000001", "127.0.0.1"),        # one octal number
    ("0177.0.0.1", "127.0.0.1"),          # octal part
    ("0x7f.0.0.1", "127.0.0.1"),          # hex part
    ("0x7f.1", "127.0.0.1"),              # two parts: the last fills three bytes
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),             # three parts: the last fills two bytes
    ("0X7F.0.0.01", "127.0.0.1"),         # any case, leading zeros
    ("127.0.0.1.", "127.0.0.1"),          # a trailing dot (fully qualified)
    ("169.254.43518", "169.254.169.254"),  # cloud metadata, two bytes in one part
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("0", "0.0.0.0"),
    ("[::1]", "::1"),
    ("::1", "::1"),
    ("[::ffff:127.0.0.1]", "127.0.0.1"),   # IPv4-mapped: the IPv4 address it carries
    ("[::ffff:7f00:1]", "127.0.0.1"),
    ("[::ffff:a9fe:a9fe]", "169.254.169.254"),
    ("[0:0:0:0:0:ffff:127.0.0.1]", "127.0.0.1"),
    ("93.184.216.34", "93.184.216.34"),
])
def test_addresses_in_every_form_are_normalised(host, meaning):
    assert net.literal_address(host) == ipaddress.ip_address(meaning)


@pytest.mark.parametrize("host", ["example.com", "crm.internal", "localhost", "1.2.3.com", "0xcafe.example",
                                  "xn--bcher-kva.example"])
def test_names_are_not_addresses(host):
    assert net.literal_address(host) is None


@pytest.mark.parametrize("host", ["256.1.1.1", "1.2.3.4.5", "08.1.1.1", "1.16777216", "4294967296", "1..1",
                                  "0x1g.1"])
def test_a_host_that_looks_like_an_address_but_is_not_one_is_refused(host):
    with pytest.raises(net.BlockedAddress, match="not a valid address"):
        net.literal_address(host)


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f.1", "127.1", "[::ffff:127.0.0.1]",
                                  "169.254.43518", "0xa9fea9fe", "[::ffff:a9fe:a9fe]"])
def test_every_form_is_refused_without_asking_a_resolver(host, monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    asked = fake_dns(monkeypatch, {})
    with pytest.raises(net.BlockedAddress, match="Sluice does not connect there"):
        net.request("GET", f"http://{host}:8102/", timeout=2)
    with pytest.raises(net.BlockedAddress):
        net.check_url(f"https://{host}/hook")
    assert asked == []  # the verdict is the guard's own, whatever the platform's resolver reads


def test_a_normalised_form_of_an_allowed_address_reaches_it(monkeypatch, local_server):
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"127.0.0.1:{local_server}")
    assert net.request("GET", f"http://2130706433:{local_server}/").ok
    assert net.request("GET", f"http://[::ffff:127.0.0.1]:{local_server}/").ok


def test_check_url_refuses_by_policy_and_lets_an_unknown_name_through(monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"], "inside.example.com": ["10.0.0.8"]})
    net.check_url("https://hooks.example.com/x")
    net.check_url("https://not-yet-there.example.com/x")  # checked again at every send
    with pytest.raises(net.BlockedAddress) as caught:
        net.check_url("https://inside.example.com/x")
    assert (caught.value.host, caught.value.reason) == ("inside.example.com", "a private network address")
    for bad in ("ftp://hooks.example.com/", "http://hooks.example.com:99999/"):
        with pytest.raises(net.BlockedAddress):
            net.check_url(bad)


def test_a_caller_can_keep_only_the_start_of_an_answer(monkeypatch, local_server):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    response = net.request("GET", f"http://127.0.0.1:{local_server}/", max_body_bytes=5)
    assert response.ok and response.body == b'{"hos'


def test_a_successful_answer_can_be_streamed_into_a_file(monkeypatch, local_server, tmp_path):
    """request(sink=...) copies a 2xx body to the file (an export archive need not fit in memory);
    a redirect or error answer stays in the Response, where the caller reads why."""
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    with open(tmp_path / "answer", "w+b") as sink:
        response = net.request("GET", f"http://127.0.0.1:{local_server}/", sink=sink)
        assert response.ok and response.body == b""
        sink.seek(0)
        assert sink.read() == f'{{"host": "127.0.0.1:{local_server}"}}'.encode()
        sink.seek(0)
        sink.truncate()
        redirect = net.request("GET", f"http://127.0.0.1:{local_server}/redirect-internal", sink=sink)
        assert redirect.status == 302 and sink.tell() == 0
