"""The package layout holds: the domain imports no I/O, and `entrypoints` is this checkout's."""

import subprocess
import sys
from pathlib import Path

import entrypoints

REPO = Path(__file__).resolve().parents[2]


def test_entrypoints_is_the_package_of_this_checkout_not_the_pypi_distribution():
    assert Path(entrypoints.__file__).resolve().is_relative_to(REPO)


def test_importing_the_domain_and_ports_loads_no_azure_subprocess_or_adapter_module():
    code = (
        "import sys, pkgutil, importlib, domain, ports\n"
        "for pkg in (domain, ports):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('azure', 'subprocess', 'adapters', 'entrypoints', 'psycopg', 'cryptography', "
        "'dependency_injector'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_diagrams_in_docs_match_the_machine_declarations():
    from entrypoints.diagram import MACHINES
    from entrypoints.tools import diagram_pages

    output = REPO / "docs" / "machines"
    stale = [
        name
        for name, text in diagram_pages(MACHINES).items()
        if not (output / name).is_file() or (output / name).read_text() != text
    ]
    assert stale == [], "run: lts diagram"


def test_the_diagram_job_writes_into_a_checkout_or_a_given_directory_never_elsewhere(tmp_path):
    from adapters.memory.console import RecordingConsole
    from adapters.memory.exit import RecordingExit
    from entrypoints.diagram import MACHINES
    from entrypoints.tools import DiagramTool, checkout_diagrams

    assert checkout_diagrams(REPO / "domain" / "machines") == REPO / "docs" / "machines"
    console, exit_ = RecordingConsole(), RecordingExit()
    outside = DiagramTool(
        machines=MACHINES, output=None, check=True, console=console, exit=exit_, cwd=tmp_path
    )
    outside.execute()
    assert exit_.code == 1
    assert console.lines == [
        f"Critical failure: {tmp_path} is not in a checkout of long-term-storage; run diagram "
        "from the checkout or pass --output DIR"
    ]
    assert list(tmp_path.iterdir()) == []
    given = DiagramTool(
        machines=MACHINES,
        output=tmp_path / "d",
        check=False,
        console=console,
        exit=exit_,
        cwd=tmp_path,
    )
    given.execute()
    assert exit_.code == 0
    assert (tmp_path / "d" / "README.md").is_file()


def test_a_job_starts_without_importing_the_azure_or_smb_clients_it_may_not_need():
    code = (
        "import sys, entrypoints.container\n"
        "print(','.join(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'azure', 'smbclient', 'smbprotocol', 'spnego'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
