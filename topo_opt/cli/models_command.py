"""``topo-opt models``: the model cards, device power profiles and instances shipped with topo-opt."""
from __future__ import annotations

import click
from rich.table import Table

from topo_opt.cli.console import stdout


@click.command()
def models() -> None:
    """List the bundled model cards (for --model NAME), power profiles and instances."""
    from topo_opt.io.bundled import bundled_dir, bundled_names
    from topo_opt.io.power_profile import load_power_profile
    from topo_opt.solve.cards import load_card

    cards = Table(title="model cards (--model NAME)")
    for column in ("name", "description"):
        cards.add_column(column)
    for name in bundled_names("card"):
        card = load_card(name)
        problem = f" (problem {card.problem})" if card.problem != name else ""
        cards.add_row(name, card.description + problem)
    stdout.print(cards)
    profiles = Table(title="device power profiles (power.profiles)")
    for column in ("name", "description"):
        profiles.add_column(column)
    for name in bundled_names("power"):
        profiles.add_row(name, load_power_profile(bundled_dir("power") / f"{name}.toml").description)
    stdout.print(profiles)
    stdout.print(f"instances (INSTANCE by name): {', '.join(bundled_names('instance'))}")
    stdout.print(f"files: {bundled_dir('card')} (copy a card to edit it, then --model FILE)")
