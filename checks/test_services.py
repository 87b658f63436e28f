"""Services: the processes and ports the service needs are up (the post-maintenance "all services running")."""
import pytest

pytestmark = [pytest.mark.postmaintenance, pytest.mark.postdeploy]


def test_process_running(process):
    """Each process named in services.processes is running (matched exactly on its process name)."""
    assert process.error is None, process.error
    assert process.pids, (f"no process named {process.name!r} is running (checked with `{process.command}`) — "
                          "start the service and look at why it stopped")


def test_port_listening(listening_port):
    """Each TCP port in services.ports has a listener, on any address."""
    assert listening_port.error is None, listening_port.error
    assert listening_port.listening, (f"nothing listens on TCP port {listening_port.port} (checked with "
                                      f"`{listening_port.command}`) — start the service or check its bind address")
