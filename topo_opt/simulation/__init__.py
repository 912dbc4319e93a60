"""Packet-level simulation of a design: how wrong is the queueing model on this network?

:func:`simulate` (front door), :class:`SimulationOptions`, :class:`PacketLengths`,
:class:`Buffers`.  The event loop is compiled with numba (:mod:`topo_opt.simulation.engine`).
"""
from topo_opt.simulation.lengths import Buffers, PacketLengths
from topo_opt.simulation.simulator import SimulationOptions, SimulationResult, simulate

__all__ = ["Buffers", "PacketLengths", "SimulationOptions", "SimulationResult", "simulate"]
