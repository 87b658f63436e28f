"""Services: the processes and ports the service needs are up (the post-maintenance "all services running")."""
import pytest

pytestmark = [pytest.mark.postmaintenance, pytest.mark.postdeploy]


def test_process_running(process, evidence):
    """Each process named in services.processes is running (matched exactly on its process name)."""
    evidence.require(process.error is None, f"cannot list the processes: {process.error}")
    evidence.require(process.pids, f"no process named {process.name} is running (services.processes names it; checked "
                     f"with `{process.command}`) — start the service and look at why it stopped")


def test_port_listening(listening_port, evidence):
    """Each TCP port in services.ports has a listener, on any address."""
    port = listening_port
    evidence.require(port.error is None, f"cannot list the listening ports: {port.error}")
    evidence.require(port.listening, f"nothing listens on TCP port {port.port} (services.ports names it; checked with "
                     f"`{port.command}`) — start the service or check its bind address")
