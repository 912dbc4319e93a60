"""The solution document of a solve: the result, its design evaluated, and where it came from.

One function builds what ``topo-opt solve --out`` writes and what a batch job stores, so both
record the same metrics: the evaluation uses the result's own delay convention
(``details["include_fixed_delay"]``) and, for cards with a power model (``earp-min-power``, or
``ga`` with a ``power``/``composite`` fitness), the card's device profiles, so the metrics
include ``total_power_w`` (W).
"""
from __future__ import annotations

from typing import Any

from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.io.solution_json import solution_to_dict
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult
from topo_opt.solve.cards import ModelCard, card_power_profiles


def solution_document(network: Network, result: SolveResult, card: ModelCard,
                      instance_file: str | None = None) -> dict[str, Any]:
    """The solution JSON document (``topo-opt/solution``, see :mod:`topo_opt.io.solution_json`).

    Parameters
    ----------
    network : Network
        The network that was solved.
    result : SolveResult
        The solve's result; without a design the document has no metrics.
    card : ModelCard
        The validated card (recorded in ``model``; its power profiles, if any, are evaluated).
    instance_file : str, optional
        The instance path (recorded with its SHA-256).
    """
    evaluation: dict[str, Any] = {}
    if result.design is not None:
        evaluation = evaluate_design(
            network, result.design, include_fixed_delay=result.details.get("include_fixed_delay", True),
            power=card_power_profiles(network, card)).to_dict()
    return solution_to_dict(network, result, evaluation, instance_file=instance_file, card=card.to_dict())
