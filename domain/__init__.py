"""The pure core of long-term-storage: the machine framework, the machines, models and rules.

Nothing here touches the outside world except through the Protocols in `ports`.
"""

import logging

# Every module logs under "lts" (the client log and its masking filter receive that tree). Until
# a job configures the client log, nothing of it may reach stderr, where no filter masks it:
# Python's last-resort handler would print warnings there unmasked.
logging.getLogger("lts").addHandler(logging.NullHandler())
