"""Data model: the validated network instance and designs on it."""
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Demand, Link, Module, Network, Node
from topo_opt.model.validation import build_network, replace_network

__all__ = ["Demand", "Design", "Link", "Module", "Network", "Node", "Routing", "build_network",
           "replace_network"]
