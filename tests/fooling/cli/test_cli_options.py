"""Options declared once (fooling/cli/declared.py): an option two commands take is one
declaration, with one default and one help, wherever it appears; and a target's weights are
named the same two ways on every command that names a target: ``--target NAME=WEIGHTS`` and
``--target NAME --weights WEIGHTS`` (transfer: ``--to``), which ``--help`` says."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import click
import pytest
from cli_helpers import assert_one_line_error, run_cli

from fooling.cli import cli, declared
from fooling.cli.declared import DeclaredOption

COMMANDS = dict(cli.commands)


def uses() -> dict[str, list[tuple[str, click.Option]]]:
    """Every flag of every command's options: the (command, option) pairs that take it."""
    found: dict[str, list[tuple[str, click.Option]]] = defaultdict(list)
    for name, command in COMMANDS.items():
        for param in command.params:
            if isinstance(param, click.Option):
                for flag in (*param.opts, *param.secondary_opts):
                    found[flag].append((name, param))
    return found


def declaration(param: click.Option) -> declared.Declaration | None:
    return param.declaration if isinstance(param, DeclaredOption) else None


SHARED = {flag: pairs for flag, pairs in uses().items() if len({c for c, _ in pairs}) > 1}


def test_the_check_sees_the_shared_options() -> None:
    # A collector that found nothing would pass everything below.
    assert {"--target", "--weights", "--device", "--seed", "--quiet", "--until"} <= set(SHARED)


@pytest.mark.parametrize("flag", sorted(set(SHARED) - set(declared.PER_COMMAND)))
def test_an_option_two_commands_take_is_declared_once(flag: str) -> None:
    pairs = SHARED[flag]
    declarations = {declaration(param) for _, param in pairs}
    assert None not in declarations, f"{flag}: declared in place by {[c for c, _ in pairs]}"
    assert len(declarations) == 1, f"{flag} is declared {len(declarations)} times"
    (one,) = declarations
    assert len({(param.name, param.default, param.help) for _, param in pairs}) == 1
    assert (pairs[0][1].name, pairs[0][1].help) == (one.dest, one.help)


@pytest.mark.parametrize("flag", sorted(declared.PER_COMMAND))
def test_a_flag_with_meanings_per_command_really_has_them(flag: str) -> None:
    # An entry that no longer differs must go: the flag is then one declaration.
    pairs = SHARED.get(flag, [])
    meanings = {(param.name, param.default, param.help) for _, param in pairs}
    assert len(meanings) > 1, f"{flag}: one meaning; declare it once instead"


def test_every_declaration_is_used() -> None:
    used = {declaration(p) for pairs in uses().values() for _, p in pairs} - {None}
    made = {v for v in vars(declared).values() if isinstance(v, declared.Declaration)}
    assert made - used == set()


#: The commands that name a target (every command with --target, --to or --weights).
TARGET_COMMANDS = sorted(
    name
    for name, command in COMMANDS.items()
    if any({"--target", "--to", "--weights"} & set(getattr(p, "opts", ())) for p in command.params)
)


def test_the_commands_that_name_a_target() -> None:
    assert TARGET_COMMANDS == ["ascent", "detect", "evolve", "retrain", "transfer"]


@pytest.mark.parametrize("name", TARGET_COMMANDS)
def test_help_names_both_ways(name: str, capsys) -> None:
    code, out, _ = run_cli(capsys, name, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "NAME=WEIGHTS" in text and "--weights" in text


def config(run_dir) -> dict:
    data = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    data.pop("run_id")
    return data


def rows(path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("command", ["evolve", "ascent"])
def test_a_run_names_its_weights_either_way(
    command, tmp_path, capsys, saturated_lenet_weights
) -> None:
    run = ["--max-generations", "1", "--batch", "10"] if command == "evolve" else ["--steps", "1"]
    weights = str(saturated_lenet_weights)
    ways = {
        "apart": ["--target", "mnist-lenet", "--weights", weights],
        "joined": ["--target", f"mnist-lenet={weights}"],
    }
    for way, target in ways.items():
        code, _, err = run_cli(capsys, command, *target, *run, "-q", "--out", tmp_path / way)
        assert code == 0, err
    assert config(tmp_path / "apart") == config(tmp_path / "joined")
    assert config(tmp_path / "apart")["target"]["weights"] == str(saturated_lenet_weights)
    both = ["--target", f"mnist-lenet={weights}", "--weights", weights]
    code, _, err = run_cli(capsys, command, *both, *run, "--out", tmp_path / "both")
    assert_one_line_error(code, err, "give one of them")
    assert not (tmp_path / "both").exists()


def test_a_study_names_its_first_network_either_way(saturated_lenet_weights, tmp_path) -> None:
    from fooling.cli.retrain import retrain, study_config

    weights = str(saturated_lenet_weights)
    out = ["--out", str(tmp_path / "study")]

    def parsed(*args: str):
        return study_config(dict(retrain.make_context("retrain", [*args, *out]).params))

    apart = parsed("--target", "mnist-lenet", "--weights", weights)
    assert apart == parsed("--target", f"mnist-lenet={weights}")
    assert apart.target["weights"] == weights and apart.target["target"] == "mnist-lenet"
    with pytest.raises(click.UsageError, match="give one of them"):
        parsed("--target", f"mnist-lenet={weights}", "--weights", weights)


@pytest.mark.parametrize(
    ("command", "option", "written"),
    [("detect", "--target", "detection.csv"), ("transfer", "--to", "transfer.csv")],
)
def test_a_study_of_runs_names_its_network_either_way(
    command, option, written, finished_run, saturated_lenet_weights, tmp_path, capsys
) -> None:
    weights = str(saturated_lenet_weights)
    ways = {
        "apart": [option, "mnist-lenet", "--weights", weights],
        "joined": [option, f"mnist-lenet={weights}"],
    }
    for way, target in ways.items():
        code, _, err = run_cli(
            capsys, command, finished_run, *target, "-q", "--out", tmp_path / way
        )
        assert code == 0, err
    assert rows(tmp_path / "apart" / written) == rows(tmp_path / "joined" / written)
    both = [option, f"mnist-lenet={weights}", "--weights", weights]
    code, _, err = run_cli(capsys, command, finished_run, *both, "--out", tmp_path / "both")
    assert_one_line_error(code, err, "give one of them")
    assert not (tmp_path / "both").exists()


def test_transfer_weights_go_with_a_single_target(
    finished_run, saturated_lenet_weights, tmp_path, capsys
) -> None:
    args = ["--to", "mnist-lenet", "--to", "model_factories:lenet", "--weights"]
    code, _, err = run_cli(capsys, "transfer", finished_run, *args, saturated_lenet_weights,
                           "--out", tmp_path / "out")  # fmt: skip
    assert_one_line_error(code, err, "--weights goes with a single --to")
    assert not (tmp_path / "out").exists()
