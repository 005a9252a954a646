"""The pure core of long-term-storage: the machine framework, the machines, models and rules.

Nothing here touches the outside world except through the Protocols in `ports`.
"""
