"""Which scratch databases a drill may drop: those no live job holds (SPEC 13, 15).

A drill restores plaintext into scratch databases (`lts_drill_<start>_<n>`) on the operator's
target server and always drops them; a drill killed with SIGKILL (or on a host that crashed)
cannot. So a drill claims each scratch database on its server before it creates it (a claim
that ends with the job's process: `Restorer.claim_scratch`) and marks it with SCRATCH_NOTE as
its comment once it exists. Every later drill drops the scratch databases nobody claims: those
marked, and those left unmarked but empty (a drill killed between creating and marking one had
put nothing in it yet). A database of that name that holds objects but not the mark is not a
drill's: it is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from ports.restorer import ScratchDatabase

SCRATCH_NOTE = (
    "long-term-storage drill scratch database: dropped by the drill that made it, or by the "
    "next drill once that one has ended"
)
"""The comment every scratch database carries, for the operator and for the next drill."""


def abandoned(found: Iterable[ScratchDatabase]) -> list[ScratchDatabase]:
    """Return the scratch databases in `found` that no live job holds and a drill made."""
    return [
        scratch
        for scratch in found
        if not scratch.claimed
        and (scratch.note == SCRATCH_NOTE or (scratch.note is None and scratch.objects == 0))
    ]
