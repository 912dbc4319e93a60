"""topo-opt: packet-network design minimising the Kleinrock average delay.

Layers (dependencies point downwards only):

* ``topo_opt.model``        -- validated, immutable network and design objects
* ``topo_opt.io``           -- readers and writers (native JSON, SNDlib, CommaLab, Zoo, REPETITA)
* ``topo_opt.evaluators``   -- pure numpy functions: queueing delay, power, security rejection
* ``topo_opt.formulations`` -- Pyomo model builders (never solve)
* ``topo_opt.algorithms``   -- numpy/scipy algorithms (shortest paths, gradient projection, ...)
* ``topo_opt.solve``        -- model cards, dispatch, one result type, solution checker
* ``topo_opt.cli``          -- the ``topo-opt`` command
"""


__version__ = "0.1.0"  # the one place of the version: pyproject.toml reads it (tool.setuptools.dynamic)
