"""Expand a :class:`~topo_opt.batch.spec.BatchSpec` into its jobs.

Order: instance, model, failure scenario, demand scale, seed.  The scenarios of an instance are
the intact network and each failure scenario of ``spec.failures``, each at every demand scale.
Cards are validated here, before anything runs, so a typo in a card or an override stops the
batch at once; an unreadable instance only fails its own jobs unless failure scenarios need
its links.
"""
from __future__ import annotations

import glob
import hashlib
from pathlib import Path

from topo_opt.batch.job import Job, job_id
from topo_opt.batch.spec import BatchSpec, ModelEntry
from topo_opt.errors import InvalidInputError
from topo_opt.io.bundled import bare_name, bundled_names, resolve
from topo_opt.io.detect import regular_file, sniff_format
from topo_opt.io.solution_json import file_sha256
from topo_opt.io.topohub import is_topohub, topohub_document
from topo_opt.model.scenarios import Scenario, scenario_grid
from topo_opt.solve.cards import ModelCard, deprecations_already_said, load_card, resolve_card
from topo_opt.solve.instance_loader import read_network


def _is_instance(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    try:
        sniff_format(path)
    except InvalidInputError:
        return False
    return True


def expand_instances(patterns: tuple[str, ...]) -> list[str]:
    """Instance files from files, glob patterns (``**`` recursive), folders, bundled instances'
    names (``abilene``) and topohub keys (``topohub:GROUP/NAME``, see :mod:`topo_opt.solve.instance_loader`), in order.

    A folder contributes its files (not recursively) whose format is recognised; duplicates
    are dropped.

    Raises
    ------
    InvalidInputError
        No pattern given, a file or folder that does not exist, a path that is neither a regular
        file nor a folder (a FIFO, a device), a glob that matches nothing, an unknown topohub key.
    """
    if not patterns:
        raise InvalidInputError("no instances: give INSTANCE arguments or 'instances' in the batch file")
    found: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                raise InvalidInputError(f"instances: {pattern!r} matches no file")
        elif Path(pattern).is_dir():
            files = [str(p) for p in sorted(Path(pattern).iterdir()) if p.is_file() and _is_instance(p)]
            if not files:
                raise InvalidInputError(f"instances: folder {pattern!r} holds no instance file")
        elif Path(pattern).exists():
            regular_file(pattern)  # a FIFO or device is an error, not "no such file"
            files = [pattern]
        elif is_topohub(pattern):
            topohub_document(pattern)  # an unknown key is refused now, not in every job (which sizes it)
            files = [pattern]
        elif bare_name(pattern, ".json") in bundled_names("instance"):
            files = [str(resolve(pattern, "instance"))]  # a bundled instance's name (abilene)
        else:
            raise InvalidInputError(f"instances: {pattern!r}: no such file or folder, nor a bundled instance "
                                    f"({', '.join(bundled_names('instance'))})")
        found.extend(f for f in files if f not in found)
    return found


def seed_key(card: ModelCard) -> str | None:
    """The dotted key of the card's ``seed`` parameter, None when its problem has none."""
    return next((f"{section}.seed" for section, keys in card.sections.items() if "seed" in keys), None)


def instance_scenarios(spec: BatchSpec, instance: str) -> list[Scenario]:
    """The scenario grid of ``spec`` on ``instance`` (:func:`~topo_opt.model.scenarios.scenario_grid`);
    the instance is read only when failures need its links."""
    network = read_network(instance, spec.format) if spec.failures is not None else None
    return scenario_grid(network, spec.demand_scales, spec.failures)


def _load_entry(spec: BatchSpec, entry: ModelEntry) -> ModelCard:
    return load_card(entry.file, spec.overrides + entry.overrides)


def expand_jobs(spec: BatchSpec) -> list[Job]:
    """Every job of the batch (see the module docstring for the order).

    Raises
    ------
    InvalidInputError
        Bad instance patterns, cards or overrides; unknown failed link ids.
    """
    cards = [(entry, _load_entry(spec, entry)) for entry in spec.models]
    jobs: list[Job] = []
    for instance in expand_instances(spec.instances):
        if is_topohub(instance):  # no file: the key is its identity (its data is topohub's)
            path, sha = Path(instance), hashlib.sha256(instance.encode()).hexdigest()
        else:
            path = Path(instance).resolve()
            sha = file_sha256(path)
        scenarios = instance_scenarios(spec, instance)
        for entry, card in cards:
            key = seed_key(card)
            seeds = spec.seeds if key is not None else (None,)
            for scenario in scenarios:
                for seed in seeds:
                    overrides = spec.overrides + entry.overrides + ((f"{key}={seed}",) if key else ())
                    with deprecations_already_said():  # by _load_entry
                        seeded = load_card(entry.file, overrides).to_dict() if key else card.to_dict()
                    jobs.append(Job(instance, str(path), sha, spec.format, entry.label,
                                    str(resolve_card(entry.file).resolve()), overrides,
                                    scenario, seed, job_id(sha, path.name, seeded, scenario, seed)))
    return jobs
