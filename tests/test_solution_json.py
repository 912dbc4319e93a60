"""Solution files: the document, its written text (layout, non-finite numbers) and the round trip."""
import json
import math

import numpy as np
import pytest

from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.io.solution_json import (
    json_clean,
    read_design,
    read_solution,
    solution_text,
    solution_to_dict,
    write_solution,
)
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from topo_opt.model.result import SolveResult, Status


def _strict(text: str):
    """json.loads that refuses NaN and Infinity (they are not JSON)."""
    def refuse(token):
        raise ValueError(f"non-finite number {token} in the file")
    return json.loads(text, parse_constant=refuse)


def _document(demand_ab: float):
    """A three-node network, two paths for one demand; ``demand_ab`` above 1e6 saturates link ab."""
    network = build_network(
        name="tri", nodes=[Node("a"), Node("b"), Node("c")],
        links=[Link("ab", "a", "b", 1e6), Link("bc", "b", "c", 1e6), Link("ac", "a", "c", 2e6)],
        demands=[Demand("d1", "a", "c", 6e5), Demand("d2", "a", "b", demand_ab)],
        packet_length_bits=1000.0)
    arc = {(network.links[network.arc_link[a]].id, network.nodes[network.arc_tail[a]].id): a
           for a in range(network.n_arcs)}
    routing = Routing.from_paths([(0, [arc["ab", "a"], arc["bc", "b"]], 0.25), (0, [arc["ac", "a"]], 0.75),
                                  (1, [arc["ab", "a"]], 1.0)])
    design = Design.for_network(network, routing)
    result = SolveResult(Status.FEASIBLE, "test", "average_delay_s", "s", objective=np.float64(math.nan),
                         lower_bound=-math.inf, design=design, iterations=np.int64(3),
                         details={"n_paths": np.int64(3), "duals": np.array([1.0, np.inf, np.nan]),
                                  "flag": np.bool_(True)},
                         history=[{"iteration": 1, "objective": np.float64(2.0), "lower_bound": -math.inf}])
    evaluation = evaluate_design(network, design).to_dict()
    return network, design, solution_to_dict(network, result, evaluation, card={"problem": "min-delay"})


@pytest.mark.parametrize("demand_ab", [3e5, 1.2e6], ids=["finite", "saturated"])
def test_written_file_is_the_cleaned_document_and_reads_back_the_design(tmp_path, demand_ab):
    network, design, doc = _document(demand_ab)
    path = tmp_path / "solution.json"
    write_solution(path, doc)
    text = path.read_text()
    back = _strict(text)  # no NaN / Infinity tokens
    assert back == read_solution(path) == json_clean(doc)  # the document is already clean
    assert back == _strict(json.dumps(json_clean(doc), indent=1))  # same content as the indent=1 writer
    assert back["objective"] is None and back["lower_bound"] is None and back["iterations"] == 3
    assert back["details"] == {"n_paths": 3, "duals": [1.0, None, None], "flag": True}
    assert back["history"] == [{"iteration": 1, "objective": 2.0, "lower_bound": None}]
    if demand_ab > 1e6:
        assert back["metrics"]["saturated"] is True and back["metrics"]["average_delay_s"] is None
        assert back["demands"][1]["delay_s"] is None and back["demands"][1]["paths"][0]["delay_s"] is None
    again = read_design(path, network)
    np.testing.assert_array_equal(again.link_capacity, design.link_capacity)
    np.testing.assert_array_equal(again.routing.demand, design.routing.demand)
    np.testing.assert_array_equal(again.routing.arcs, design.routing.arcs)
    np.testing.assert_allclose(again.routing.fraction, design.routing.fraction, rtol=0, atol=0)


def test_layout_is_one_line_per_key_and_per_element_of_a_top_level_list():
    network, _, doc = _document(3e5)
    lines = solution_text(json_clean(doc)).splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and lines[1] == ' "format": "topo-opt/solution",'
    start = lines.index(' "arcs": [')
    arcs = [json.loads(line.rstrip(",")) for line in lines[start + 1:start + 1 + network.n_arcs]]
    assert arcs == doc["arcs"] and lines[start + 1 + network.n_arcs] == " ],"
    start = lines.index(' "demands": [')
    assert [json.loads(line.rstrip(",")) for line in lines[start + 1:start + 3]] == doc["demands"]
    assert ' "violations": [],' in lines and ' "details": {' in lines  # empty list, indented object
