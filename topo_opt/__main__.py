"""``python -m topo_opt`` runs the ``topo-opt`` command."""
from topo_opt.cli.main import main

main()
