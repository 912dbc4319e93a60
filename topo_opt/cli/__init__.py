"""The ``topo-opt`` command.

The command runs BLAS on one thread unless the user chose otherwise (``OPENBLAS_NUM_THREADS`` or
``MKL_NUM_THREADS`` set): set here, before anything imports numpy.  numpy's OpenBLAS runs a
matrix–vector product of 460,800 entries or more on every core, and on a shared machine those
threads spin against the other jobs: gradient projection on a 77-link support of Topology Zoo's
Uninett2011 (B of 5,512 × 154 entries) took 10.6–15.5 s of CPU with the default threads and
2.4–3.3 s with one, on the 2-core machine of ``benchmarks/BENCHMARKS.md`` (*BLAS threads*).
The benchmarks measure topo-opt and its peers with one thread each, so the command now runs as
measured; a program importing :mod:`topo_opt` keeps its own BLAS settings.
"""
import os

for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
