"""The claims audit: the NSR paper's claims as data (``claims/paper.yaml``), measured on stored cells,
each with a verdict (``nsr-bench claims``); and the analytic Bank memory calculator (``claims memory``)."""
