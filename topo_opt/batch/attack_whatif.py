"""What-if of a DDoS attack: legitimate loss and delay per demand, and where detection helps most.

Runs the M/M/1/B DDoS model (:mod:`topo_opt.evaluators.ddos`) on the installed capacities twice,
without and with the attack, both classes routed by the card's rule, then ranks

* **nodes** by the legitimate traffic saved when their detection probability d_i rises by the
  card's ``protect.detection_step`` (a finite-difference marginal gain, one fixed point per node
  that forwards attack traffic), and
* **links** (queues) by the legitimate traffic they drop: Σ_normal offered × L_q.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topo_opt.algorithms import baselines
from topo_opt.evaluators.ddos import ClassTraffic, DdosResult, ddos_fixed_point, detection_gains
from topo_opt.model.attack import AttackCard, AttackFlow
from topo_opt.model.network import Demand, Network
from topo_opt.model.validation import replace_network


@dataclass(frozen=True)
class AttackWhatIf:
    """Both fixed points and the rankings; ``demands``, ``attacks``, ``nodes``, ``links`` are rows."""

    network: Network
    flows: tuple[AttackFlow, ...]
    card: AttackCard
    baseline: DdosResult
    attacked: DdosResult
    demands: list[dict]
    attacks: list[dict]
    nodes: list[dict]
    links: list[dict]

    @property
    def legit_loss(self) -> tuple[float, float]:
        """Rate-weighted legitimate loss without and with the attack."""
        rate = self.network.demand_rate
        return tuple(1.0 - float(rate @ np.nan_to_num(r.demand_delivered[0])) / float(rate.sum())
                     for r in (self.baseline, self.attacked))


def run_attack_whatif(network: Network, flows: tuple[AttackFlow, ...], card: AttackCard,
                      include_fixed_delay: bool = True) -> AttackWhatIf:
    """The attack what-if of the module docstring on the installed capacities."""
    route = baselines.BASELINE_ROUTINGS[card.routing_rule]
    attack_net = replace_network(network, demands=[Demand(id=f"attack{i}:{f.source}>{f.target}", source=f.source,
                                                 target=f.target, rate=f.rate) for i, f in enumerate(flows)])
    normal = ClassTraffic(route(network), network.demand_rate, card.false_alarm)
    attack = ClassTraffic(route(attack_net), attack_net.demand_rate, card.detection)
    idle = ClassTraffic(attack.routing, np.zeros_like(attack.demand_rate), card.detection)
    capacity = network.link_capacity
    baseline = ddos_fixed_point(network, capacity, [normal, idle], card.buffer_packets, include_fixed_delay)
    attacked = ddos_fixed_point(network, capacity, [normal, attack], card.buffer_packets, include_fixed_delay)
    gains = detection_gains(network, capacity, normal, attack, card.buffer_packets, card.detection_step, attacked)

    demands = [{"demand": d.id, "source": d.source, "target": d.target, "rate": d.rate,
                "loss_baseline": 1.0 - float(baseline.demand_delivered[0][k]),
                "loss": 1.0 - float(attacked.demand_delivered[0][k]),
                "delay_baseline_s": float(baseline.demand_delay_s[0][k]),
                "delay_s": float(attacked.demand_delay_s[0][k])}
               for k, d in enumerate(network.demands)]
    attacks = [{"attack": d.id, "source": d.source, "target": d.target, "rate": d.rate,
                "delivered": float(attacked.demand_delivered[1][k])} for k, d in enumerate(attack_net.demands)]
    order = np.argsort(-gains, kind="stable")
    nodes = [{"node": network.nodes[i].id, "detection": float(card.detection[i]),
              "legit_saved": float(gains[i])} for i in order[:card.top].tolist() if gains[i] > 0]
    per_unit = network.packets_per_rate_unit
    legit_dropped = attacked.queue_load[0] * attacked.blocking / per_unit  # rate unit
    arc_of_queue = np.empty(network.n_queues, np.int64)
    arc_of_queue[network.arc_queue[::-1]] = np.arange(network.n_arcs)[::-1]
    links = []
    for q in np.argsort(-legit_dropped, kind="stable")[:card.top].tolist():
        if attacked.blocking[q] < 1e-9:  # negligible: not worth listing
            continue
        a = arc_of_queue[q]
        links.append({"link": network.links[network.arc_link[a]].id, "from": network.nodes[network.arc_tail[a]].id,
                      "blocking": float(attacked.blocking[q]), "utilization": float(attacked.queues.utilization[q]),
                      "attack_share": float(attacked.queue_load[1][q] / max(attacked.queue_load[0][q]
                                                                           + attacked.queue_load[1][q], 1e-300)),
                      "legit_dropped": float(legit_dropped[q])})
    return AttackWhatIf(network, flows, card, baseline, attacked, demands, attacks, nodes, links)
