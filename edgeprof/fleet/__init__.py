"""Remote benches and fleets of boards over SSH (layer between ``engine`` and ``views``): the
board's agent (``agent.py``), the SSH channel (``ssh.py``), files both ways (``transfer.py``), one
remote run (``remote.py``), ``bench --host`` (``hostbench.py``) and fleets (``fleetfile.py``,
``fleetrun.py``, ``table.py``, ``status.py``). asyncssh is imported inside functions."""
