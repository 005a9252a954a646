"""Counts of the reliability suite, printed at the end of the session.

Kills and reruns of the kill campaign, bad inputs the fuzzers tried: the closing note of issue 12
quotes them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What the session's campaigns did."""

    kills: Counter[str] = field(default_factory=Counter)
    """By `<job> <signal> <target>`: signals that reached a running job or child."""
    missed: int = 0
    """Attempts whose target had ended before the signal: not counted as kills."""
    reruns: int = 0
    failed_reruns: int = 0
    scratch_left: int = 0
    """Scratch databases killed drills left on the server, each for its rerun to drop."""
    inputs: Counter[str] = field(default_factory=Counter)
    """By kind (`backup command line`, `master config`, ...): bad inputs tried."""

    def lines(self) -> list[str]:
        """Return the report: one line per campaign, then the details."""
        lines = []
        if self.kills or self.reruns:
            lines.append(
                f"kill campaign: {sum(self.kills.values())} kills, {self.reruns} reruns "
                f"({self.reruns - self.failed_reruns} succeeded), {self.missed} attempts whose "
                "target had already ended"
            )
            by_job: Counter[str] = Counter()
            for key, count in self.kills.items():
                by_job[key.split()[0]] += count
            jobs = ", ".join(f"{job} {count}" for job, count in sorted(by_job.items()))
            lines.append(f"  by job: {jobs}")
            lines += [f"  {key}: {count}" for key, count in sorted(self.kills.items())]
            if self.scratch_left:
                lines.append(f"  scratch databases left by killed drills: {self.scratch_left}")
        if self.inputs:
            lines.append(f"bad-input fuzzing: {sum(self.inputs.values())} inputs tried")
            lines += [f"  {kind}: {count}" for kind, count in sorted(self.inputs.items())]
        return lines


TALLY = Tally()
"""The session's counts (one pytest process)."""
