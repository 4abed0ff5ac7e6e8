"""How fast lvwall runs on this machine: the timing rule, the synthetic video and the machine
facts that ``lvwall benchmark`` and the scripts under ``benchmarks/`` share."""
