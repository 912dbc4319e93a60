"""From measurements to model inputs: a pipeline of pure functions, one module per stage.

* :mod:`~topo_opt.measure.counters` -- read interface counters (CSV) and clean them: 32/64-bit
  wraps unwrapped, resets and polling gaps found and reported.
* :mod:`~topo_opt.measure.rates` -- bin the cleaned cumulative counters to regular intervals and
  summarise each interface: mean, peak, busy hour, 95th percentile (billing rule), gaps.
* :mod:`~topo_opt.measure.rates_file` -- the rates table (CSV/JSON) written and read back.
* :mod:`~topo_opt.measure.routing_matrix` -- which arcs (and access interfaces) each
  origin-destination pair loads under a routing rule or a solved design.
* :mod:`~topo_opt.measure.traffic_matrix` -- traffic-matrix estimation from link counts:
  gravity, least squares and tomogravity, with a fit report.
* :mod:`~topo_opt.measure.compare` -- measured against predicted link loads.
* :mod:`~topo_opt.measure.probe_train` -- probe trains over a tandem path: simulation and
  inference (packet-pair capacity, cross traffic, outages).
* :mod:`~topo_opt.measure.tree_tomography` -- delay tomography on trees (EM, Weibull fits).
* :mod:`~topo_opt.measure.synthetic` -- synthetic ground truth for tests, examples, benchmarks.

Layer: uses model, io and algorithms; used by the CLI.
"""

#: Summaries of an interface's binned rates (:mod:`~topo_opt.measure.rates`); kept here, free of
#: imports, so that the CLI can offer them as choices without loading numpy.
STATISTICS = ("mean", "peak", "busy_hour", "p95")
