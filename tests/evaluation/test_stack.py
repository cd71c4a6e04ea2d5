import socket

import pytest

from bot.evaluation.stack import free_port


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range():
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    low, _high = (int(part) for part in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    assert all(port < low for port in ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))  # nothing took it


def test_a_port_in_use_is_never_handed_out(monkeypatch):
    import bot.evaluation.stack as stack

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(stack, "_PORTS", range(port, port + 1))
        with pytest.raises(RuntimeError, match=str(port)):
            free_port()
