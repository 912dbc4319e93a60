"""Reports people can look at: plots of one solution or of a batch results table.

* :mod:`~topo_opt.report.solution`: a solution file with its instance (hash checked) and the
  per-link view (utilisation, capacity, end points, drawing positions) the plots share;
* :mod:`~topo_opt.report.interactive`: plotly figures; :mod:`~topo_opt.report.static`:
  matplotlib PNGs of the same panels; :mod:`~topo_opt.report.batch_view`: the cross-instance
  and cross-scenario tables and plots of a batch;
* :mod:`~topo_opt.report.html`: one self-contained HTML page (plotly.js inline);
* :mod:`~topo_opt.report.whatif_plot`, :mod:`~topo_opt.report.bench_plot`, :mod:`~topo_opt.report.tradeoff_plot`:
  the ``--plot`` files of ``topo-opt whatif``, ``bench`` and ``tradeoff``, drawn on
  :mod:`~topo_opt.report.figure`.
"""
