"""What-if scenarios: demand scaling, link and node failures."""
import json

import numpy as np
import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_instance
from topo_opt.io.native_json import loads_json
from topo_opt.model.scenarios import Scenario, apply_scenario, failure_scenarios, parse_range


@pytest.fixture(scope="module")
def abilene():
    return read_instance("instances/abilene.json")


def test_demand_scale_multiplies_every_rate(abilene):
    scaled = apply_scenario(abilene, Scenario("x1.5", demand_scale=1.5))
    np.testing.assert_allclose(scaled.demand_rate, 1.5 * abilene.demand_rate)
    assert scaled.n_links == abilene.n_links


def test_scenario_round_trips_through_a_dict():
    scenario = Scenario("fail ab x1.2", demand_scale=1.2, failed_links=("a", "b"), failed_nodes=("n",))
    doc = scenario.to_dict()
    assert doc["failed_links"] == ["a", "b"]            # JSON lists, as in jobs and solution files
    assert Scenario.from_dict(doc) == scenario
    assert Scenario.from_dict(Scenario().to_dict()) == Scenario()


def test_failed_link_is_removed(abilene):
    link = abilene.links[0].id
    failed = apply_scenario(abilene, Scenario(failed_links=(link,)))
    assert failed.n_links == abilene.n_links - 1 and link not in failed.link_index
    assert failed.n_demands == abilene.n_demands


def test_failed_node_takes_its_links_and_demands(abilene):
    node = abilene.nodes[0].id
    failed = apply_scenario(abilene, Scenario(failed_nodes=(node,)))
    touching = [link for link in abilene.links if node in (link.source, link.target)]
    sourced = [d.id for d in abilene.demands if node in (d.source, d.target)]
    assert failed.n_nodes == abilene.n_nodes - 1
    assert failed.n_links == abilene.n_links - len(touching)
    assert failed.n_demands == abilene.n_demands - len(sourced)
    assert failed.metadata["scenario"]["dropped_demands"] == sourced


def test_unknown_elements_are_named(abilene):
    with pytest.raises(InvalidInputError, match="unknown link 'nope'"):
        apply_scenario(abilene, Scenario(failed_links=("nope",)))
    with pytest.raises(InvalidInputError, match="unknown node 'X'"):
        apply_scenario(abilene, Scenario(failed_nodes=("X",)))
    with pytest.raises(InvalidInputError, match="'nope' is not a link"):
        failure_scenarios(abilene, ["nope"])


def test_failure_lists(abilene):
    assert len(failure_scenarios(abilene, "each-link")) == abilene.n_links
    assert [s.failed_nodes for s in failure_scenarios(abilene, "each-node")] == \
        [(n.id,) for n in abilene.nodes]


def test_link_pairs_fail_together(abilene):
    pairs = failure_scenarios(abilene, "each-link-pair")
    ids = [link.id for link in abilene.links]
    assert len(pairs) == len(ids) * (len(ids) - 1) // 2
    assert {frozenset(s.failed_links) for s in pairs} == \
        {frozenset((a, b)) for i, a in enumerate(ids) for b in ids[i + 1:]}
    (joint,) = failure_scenarios(abilene, [f"{ids[0]} + {ids[3]}"])
    assert joint.failed_links == (ids[0], ids[3]) and joint.name == f"fail links {ids[0]}+{ids[3]}"
    failed = apply_scenario(abilene, joint)
    assert failed.n_links == abilene.n_links - 2
    assert ids[0] not in failed.link_index and ids[3] not in failed.link_index
    with pytest.raises(InvalidInputError, match="'nope' is not a link"):
        failure_scenarios(abilene, [f"{ids[0]}+nope"])


def test_link_id_with_a_plus_is_taken_whole():
    doc = {"format": "topo-opt/network", "version": 1, "name": "plus",
           "nodes": [{"id": "a"}, {"id": "b"}],
           "links": [{"id": "a+b", "source": "a", "target": "b", "capacity": 10.0}], "demands": []}
    network = loads_json(json.dumps(doc))
    (scenario,) = failure_scenarios(network, ["a+b"])
    assert scenario.failed_links == ("a+b",) and scenario.name == "fail link a+b"


def test_parse_range():
    assert parse_range("1.0:2.0:0.25") == [1.0, 1.25, 1.5, 1.75, 2.0]
    assert parse_range("1.0:2.0:0.1")[-1] == 2.0
    assert parse_range("1.3") == [1.3]
    for bad in ("a:b:c", "1:2", "2:1:0.1", "1:2:0", "0", "-1"):
        with pytest.raises(InvalidInputError, match="demand scale"):
            parse_range(bad)
