"""Constructor validation and the WebSocket URL built from the options."""

from __future__ import annotations

import pytest

import rxpusher
from rxpusher import Pusher
from rxpusher.testing import ScriptedServer

from .support import record


@pytest.mark.parametrize("key", [None, ""])
def test_missing_or_empty_key_raises_value_error_before_any_io(key: object) -> None:
    server = ScriptedServer()
    with pytest.raises(ValueError):
        Pusher(key, transport=server.transport)  # type: ignore[arg-type]
    assert server.attempts == 0


def test_unknown_option_raises_type_error_naming_it(make_pusher) -> None:
    with pytest.raises(TypeError, match="clustr"):
        make_pusher(clustr="eu")


def test_unknown_option_suggests_the_close_match(make_pusher) -> None:
    with pytest.raises(TypeError, match="cluster"):
        make_pusher(clustr="eu")


def test_unknown_option_is_rejected_before_any_io(server) -> None:
    with pytest.raises(TypeError):
        Pusher("key", transport=server.transport, bogus=1)
    assert server.attempts == 0


@pytest.mark.parametrize(
    "name", ["activity_timeout", "pong_timeout", "unavailable_timeout"]
)
@pytest.mark.parametrize("value", [0, -1])
def test_non_positive_timeouts_raise_value_error(make_pusher, name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        make_pusher(**{name: value})


def test_reconnect_must_be_a_backoff(make_pusher) -> None:
    with pytest.raises(TypeError):
        make_pusher(reconnect=5)


def test_channel_data_without_user_id_raises_value_error(make_pusher) -> None:
    with pytest.raises(ValueError, match="user_id"):
        make_pusher(secret="s", channel_data={"user_info": {}})


def test_encrypted_and_use_tls_disagreeing_raise_value_error(make_pusher) -> None:
    with pytest.raises(ValueError):
        make_pusher(use_tls=True, encrypted=False)


def test_auto_connect_opens_a_transport_in_the_constructor(make_pusher, server) -> None:
    make_pusher()
    assert server.attempts == 1


def test_auto_connect_false_opens_nothing_until_connect(make_pusher, server) -> None:
    p = make_pusher(auto_connect=False)
    assert server.attempts == 0
    assert p.connection_state == "initialized"
    p.connect()
    assert server.attempts == 1
    assert p.connection_state == "connecting"


def test_key_property_is_the_app_key(make_pusher) -> None:
    assert make_pusher(key="abc").key == "abc"


def test_public_names_are_importable_from_the_package() -> None:
    for name in ("Pusher", "Channel", "Event", "Member", "Members", "Backoff", "PusherError",
                 "SubscriptionError", "ConnectionRefused", "ProtocolError", "ObserverError"):
        assert hasattr(rxpusher, name), name


def test_every_exception_derives_from_pusher_error() -> None:
    for exc in (rxpusher.SubscriptionError, rxpusher.ConnectionRefused, rxpusher.ProtocolError,
                rxpusher.ObserverError, rxpusher.ServerError, rxpusher.AuthenticationError):
        assert issubclass(exc, rxpusher.PusherError)


# ---- URL ------------------------------------------------------------------------------

def url_of(make_pusher, server, **options) -> str:
    make_pusher(key="app-key", **options)
    url = server.current.url
    assert url is not None
    return url


def test_default_url_is_tls_on_the_mt1_cluster_with_protocol_7(make_pusher, server) -> None:
    url = url_of(make_pusher, server)
    assert url.startswith("wss://ws-mt1.pusher.com:443/app/app-key?")
    assert "protocol=7" in url
    assert "client=python-rxpusher" in url
    assert f"version={rxpusher.__version__}" in url


def test_cluster_picks_the_host(make_pusher, server) -> None:
    assert url_of(make_pusher, server, cluster="eu").startswith("wss://ws-eu.pusher.com:443/app/app-key?")


def test_host_overrides_cluster(make_pusher, server) -> None:
    url = url_of(make_pusher, server, cluster="eu", host="ws.example.org")
    assert url.startswith("wss://ws.example.org:443/app/app-key?")


def test_use_tls_false_uses_ws_and_ws_port(make_pusher, server) -> None:
    url = url_of(make_pusher, server, host="localhost", use_tls=False, ws_port=6001, wss_port=6002)
    assert url.startswith("ws://localhost:6001/app/app-key?")


def test_use_tls_true_uses_wss_port(make_pusher, server) -> None:
    url = url_of(make_pusher, server, host="localhost", use_tls=True, ws_port=6001, wss_port=6002)
    assert url.startswith("wss://localhost:6002/app/app-key?")


def test_encrypted_is_an_alias_of_use_tls(make_pusher, server) -> None:
    url = url_of(make_pusher, server, host="localhost", encrypted=False, ws_port=6001)
    assert url.startswith("ws://localhost:6001/app/app-key?")


@pytest.mark.parametrize("path", ["/prefix", "prefix", "/prefix/", "prefix/"])
def test_path_is_a_prefix_before_app_key(make_pusher, server, path: str) -> None:
    url = url_of(make_pusher, server, host="h", use_tls=False, path=path)
    assert url.startswith("ws://h:80/prefix/app/app-key?")


def test_empty_path_adds_nothing(make_pusher, server) -> None:
    url = url_of(make_pusher, server, host="h", use_tls=False, path="")
    assert url.startswith("ws://h:80/app/app-key?")


def test_state_starts_initialized_with_no_socket_id(make_pusher) -> None:
    p = make_pusher(auto_connect=False)
    states = record(p.state)
    assert states.items == ["initialized"]
    assert p.socket_id is None


def test_auth_endpoints_must_be_absolute_urls() -> None:
    import pytest

    import rxpusher

    for option in ("auth_endpoint", "user_auth_endpoint"):
        with pytest.raises(ValueError, match=option):
            rxpusher.Pusher("key", auto_connect=False, **{option: "/pusher/auth"})


@pytest.mark.parametrize(("options", "named"), [
    ({"activity_timeout": float("nan")}, "activity_timeout"),
    ({"pong_timeout": float("inf")}, "pong_timeout"),
    ({"ws_port": "abc"}, "ws_port"),
    ({"ws_port": 70000}, "ws_port"),
    ({"host": 5}, "host"),
    ({"host": "node1:99999"}, "host"),
    ({"secret": 123}, "secret"),
    ({"scheduler": "x"}, "scheduler"),
    ({"auth_batch": "yes"}, "auth_batch"),
    ({"max_message_size": 0}, "max_message_size"),
])
def test_bad_option_values_are_rejected_naming_the_option(server, options, named) -> None:
    with pytest.raises((TypeError, ValueError), match=named):
        Pusher("key", transport=server.transport, **options)
    assert server.attempts == 0


def test_backoff_rejects_non_finite_values() -> None:
    with pytest.raises(ValueError, match="initial"):
        rxpusher.Backoff(initial=float("nan"))


def test_a_host_entry_may_carry_its_own_port(make_pusher, server) -> None:
    make_pusher(host="node1:6001", use_tls=False)
    assert server.current.url.startswith("ws://node1:6001/app/key?")


def test_the_options_repr_hides_secrets() -> None:
    from rxpusher._options import Options

    text = repr(Options.from_kwargs("key", {
        "secret": "s3cr3t", "auth": {"username": "u", "password": "pw", "headers": {"X": "tok"}},
        "channel_data": {"user_id": "1", "user_info": {"email": "a@b"}}}))
    assert "s3cr3t" not in text and "pw" not in text and "tok" not in text and "a@b" not in text


def test_io_is_shared_by_default_and_validated(server) -> None:
    from rxpusher._options import Options

    assert Options.from_kwargs("key", {}).io == "shared"
    assert Options.from_kwargs("key", {"io": "dedicated"}).io == "dedicated"
    with pytest.raises(ValueError, match="io must be"):
        Pusher("key", transport=server.transport, io="threads")  # type: ignore[arg-type]
    assert server.attempts == 0


def test_switched_options_replace_what_is_given_and_are_validated() -> None:
    from rxpusher._options import Options

    options = Options.from_kwargs("k", {"host": "a.example", "ws_port": 6001, "use_tls": False,
                                        "secret": "s"})
    moved = options.switched(key="k2", host="b.example", ws_port=7001)
    assert (moved.key, moved.host, moved.ws_port, moved.secret, moved.use_tls) == (
        "k2", "b.example", 7001, "s", False)
    assert "ws://b.example:7001/app/k2?" in moved.url()
    on_cluster = options.switched(cluster="eu")
    assert on_cluster.host is None and on_cluster.url().startswith("ws://ws-eu.pusher.com:6001/app/k?")
    assert options.switched(host=["x:1", "y:2"]).hosts == ("x:1", "y:2")
    for bad, kind in (({"key": ""}, ValueError), ({"ws_port": 0}, ValueError),
                      ({"cluster": 5}, TypeError), ({"host": []}, ValueError), ({}, ValueError)):
        with pytest.raises(kind):
            options.switched(**bad)


@pytest.mark.parametrize(("options", "advice"), [
    ({"host": "wss://ws-eu.pusher.com:443"}, "cluster='eu'"),
    ({"host": "ws://127.0.0.1:6001"}, "host='127.0.0.1:6001', use_tls=False"),
    ({"host": ["127.0.0.1:6001", "https://node2:6002/"]}, "host='node2:6002'"),
    ({"host": "127.0.0.1:6001/ws"}, "path="),
    ({"cluster": "ws-eu.pusher.com"}, "cluster='eu'"),
    ({"cluster": "wss://ws-ap1.pusher.com"}, "cluster='ap1'"),
    ({"cluster": "soketi.example.com"}, "host='soketi.example.com'"),
])
def test_a_url_or_hostname_where_a_host_or_cluster_goes_says_what_to_pass(
        options, advice, server) -> None:
    """Before: ``wss://[wss://ws-eu...]:443``, ``ws-ws-eu.pusher.com.pusher.com``, or
    retrying for ever with "Invalid IPv6 URL"."""
    with pytest.raises(ValueError) as info:
        rxpusher.Pusher("key", transport=server.transport, **options)
    assert advice in str(info.value)
    assert server.attempts == 0  # before any I/O


def test_plain_hosts_and_clusters_are_still_accepted(server) -> None:
    for options in ({"cluster": "eu"}, {"cluster": "mt1"}, {"host": "127.0.0.1:6001"},
                    {"host": ["a.example", "[::1]:6001"]}, {"host": "x", "cluster": ""}):
        rxpusher.Pusher("key", transport=server.transport, auto_connect=False, **options).close()
