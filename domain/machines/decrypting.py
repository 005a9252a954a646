"""What the restore, decrypt and drill machines share: a client's runs, a private key, its disposal.

`DecryptingMachine` is their abstract base: it holds the client's config, share and run catalog,
the restore ports and where the private key comes from (PrivateKeySource), loads the key for a
node of the subclass (`_load_keys`) and declares the clean-up node that closes it (`dispose_key`).
Each subclass keeps its own nodes and their order; the graph is still read from the subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.machines.private_key import PrivateKeySource
from domain.machines.restore_ports import RestorePorts
from domain.models.redaction import Redactor
from domain.services.catalog import RunCatalog
from ports.config_source import ConfigSource
from ports.decryptor import DecryptionKeys


class DecryptingMachine(Machine, abstract=True):
    """A machine that reads a client's runs back with the restore config's private key."""

    keys = Slot[DecryptionKeys]("load_private_key")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RestorePorts,
        restore_source: ConfigSource,
        redactor: Redactor,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._catalog = RunCatalog(context.share)
        self._ports = ports
        self._keys_from = PrivateKeySource(
            restore_source, ports.decryptor, redactor, context.config_url
        )

    def _load_keys(self, then: Callable[[], Any]) -> Step:
        """Load the private key (a child machine) and go on to `then`; end the job if it failed.

        Nothing needs closing when it failed, so the job goes straight to `report_results`.
        """
        keys = self._keys_from.load(self)
        if keys is None:
            return self.success(self.report_results)
        self.keys = keys
        return self.success(then)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def dispose_key(self) -> Step:
        """Remove the throw-away keyring holding the private key."""
        self.keys.close()
        return self.success(self.report_results)
