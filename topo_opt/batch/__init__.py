"""Batch solving: instances × model cards × scenarios × seeds, on this machine or a Dask cluster.

* :mod:`~topo_opt.batch.spec`: the batch file (TOML or YAML) and flags → :class:`BatchSpec`;
* :mod:`~topo_opt.batch.grid`: :class:`BatchSpec` → the list of :class:`~topo_opt.batch.job.Job`;
* :mod:`~topo_opt.batch.job`: one job's identity and :func:`~topo_opt.batch.job.execute`;
* :mod:`~topo_opt.batch.table`: the results table (CSV, Parquet), written atomically;
* :mod:`~topo_opt.batch.local` and :mod:`~topo_opt.batch.cluster`: the two executors;
* :mod:`~topo_opt.batch.runner`: :func:`~topo_opt.batch.runner.run_batch`, the front door;
* :mod:`~topo_opt.batch.benchmark`: methods × instances × seeds against the best bound (``bench``);
* :mod:`~topo_opt.batch.tradeoff`: min power against T_max, MILP and EARP (``tradeoff``);
* :mod:`~topo_opt.batch.whatif`: demand growth and failures with the cheapest upgrades (``whatif``);
* :mod:`~topo_opt.batch.attack_whatif`: a DDoS attack's loss and where detection helps (``attack``).
"""
