"""Names of the routing rules a model card's ``routing.rule`` can take, and nothing else.

The rules themselves are :data:`topo_opt.algorithms.baselines.BASELINE_ROUTINGS` (fixed rules
that ignore capacity), min-delay routing on the installed capacities, and ``joint`` (CFA,
:mod:`topo_opt.algorithms.capacity_flow_assignment`).  The names live here, in the data model
and with no import, so that every card reader can check them (model cards in
:mod:`topo_opt.solve.problems`, attack cards in :mod:`topo_opt.io.attack_card`, ``measure``'s
routing argument) without loading scipy's graph routines.
"""

#: Fixed rules that route without looking at capacity or load (``routing-baseline``).
BASELINE_RULES = ("min-hop", "shortest-length", "ecmp")
#: Fixed routings a capacity assignment can start from: the baselines or min-delay routing.
FIXED_RULES = ("min-delay", *BASELINE_RULES)
#: Routing rules of the continuous capacity-assignment cards (``joint`` = CFA).
CAPACITY_RULES = (*FIXED_RULES, "joint")
