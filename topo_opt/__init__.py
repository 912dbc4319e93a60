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


def __getattr__(name: str) -> str:
    """``__version__`` on first use: importlib.metadata costs ~40 ms, paid only by ``--version``."""
    if name != "__version__":
        raise AttributeError(f"module 'topo_opt' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("topo-opt")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+src"
