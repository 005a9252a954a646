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
    from entrypoints.diagram import DEFAULT_OUTPUT, stale_pages

    assert stale_pages(DEFAULT_OUTPUT) == [], "run: lts diagram"
