"""Run configs: pydantic validation, TOML files, dotted overrides, one-line errors."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mimflow import MimflowError
from mimflow.cli import main
from mimflow.runs._config import (
    canonical_json,
    config_fields,
    config_to_toml,
    flatten,
    load_toml,
    parse_value,
    resolve_config,
    split_list,
    unflatten,
)
from mimflow.runs._runs import RunCommand, RunResult, get_run_command, register_run_command
from helpers import run_cli


class Algorithm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field("two-timescale", description="algorithm name")
    learning_rate: float = Field(0.1, gt=0, le=10, description="step size")


class Nested(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    d: int = Field(100, ge=1, description="dimension")
    seeds: int | list[int] = Field(4, description="seeds")
    algorithm: Algorithm = Field(default_factory=Algorithm, description="the algorithm")


def test_fields_are_dotted_and_typed():
    fields = config_fields(Nested)
    assert list(fields) == ["d", "seeds", "algorithm.name", "algorithm.learning_rate"]
    assert fields["algorithm.name"].takes_text and not fields["d"].takes_text
    assert fields["seeds"].accepts_list and not fields["d"].accepts_list
    assert fields["algorithm.learning_rate"].default == 0.1


def test_layers_file_then_overrides_nested_and_dotted():
    cfg = resolve_config(Nested, {"d": 300, "algorithm": {"learning_rate": 0.5}}, {"algorithm.name": "sgd"})
    assert cfg.d == 300 and cfg.algorithm.learning_rate == 0.5 and cfg.algorithm.name == "sgd"
    later = resolve_config(Nested, {"algorithm.learning_rate": 0.5}, {"algorithm": {"learning_rate": 2.0}})
    assert later.algorithm.learning_rate == 2.0
    assert resolve_config(Nested).algorithm.name == "two-timescale"  # defaults


@pytest.mark.parametrize(
    "layer, fragment",
    [
        ({"dd": 3}, "unknown key 'dd'; did you mean 'd'?"),
        ({"algorithm.learnig_rate": 3}, "did you mean 'algorithm.learning_rate'?"),
        ({"algorithm": {"nme": "x"}}, "did you mean 'algorithm.name'?"),
        ({"d": 0}, "d = 0: Input should be greater than or equal to 1"),
        ({"algorithm.learning_rate": 20}, "algorithm.learning_rate = 20"),
        ({"d": "many"}, "d = 'many'"),
        ({"zzzzzz": 1}, "valid keys:"),
    ],
)
def test_errors_name_the_key(layer, fragment):
    with pytest.raises(MimflowError) as info:
        resolve_config(Nested, layer)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_toml_round_trip_and_errors(tmp_path):
    cfg = resolve_config(Nested, {"seeds": [1, 2, 3], "algorithm.learning_rate": 0.25})
    text = config_to_toml(cfg.model_dump(mode="json"), header="a header")
    assert text.startswith("# a header\n") and "[algorithm]" in text
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert resolve_config(Nested, load_toml(path)) == cfg
    path.write_text("d = \n")
    with pytest.raises(MimflowError, match=r"malformed TOML in .*line 1"):
        load_toml(path)
    with pytest.raises(MimflowError, match="not found"):
        load_toml(tmp_path / "missing.toml")


def test_flatten_unflatten_canonical_json():
    nested = {"a": 1, "b": {"c": [1, 2], "d": {"e": "x"}}}
    assert flatten(nested) == {"a": 1, "b.c": [1, 2], "b.d.e": "x"}
    assert unflatten(flatten(nested)) == nested
    assert canonical_json({"b": 1, "a": [0.1, 2]}) == canonical_json({"a": [0.1, 2], "b": 1}) == '{"a":[0.1,2],"b":1}'
    with pytest.raises(MimflowError, match="NaN"):
        canonical_json({"x": float("nan")})


def test_command_line_values():
    fields = config_fields(Nested)
    assert split_list("relu(z),h2(z)") == ["relu(z)", "h2(z)"]
    assert split_list("f(a,b),[1,2],'x,y'") == ["f(a,b)", "[1,2]", "'x,y'"]
    assert parse_value("1e4", fields["d"]) == 1e4
    assert parse_value("[1, 2]", fields["seeds"]) == [1, 2]
    assert parse_value("true") is True
    assert parse_value("12", fields["algorithm.name"]) == "12"  # string fields verbatim
    assert resolve_config(Nested, {"d": parse_value("1e3", fields["d"])}).d == 1000


def test_register_checks_the_contract():
    def run(config, *, progress=None):  # pragma: no cover - never called
        return RunResult(None)

    class NoDescription(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        x: int = 1

    class NotFrozen(BaseModel):
        x: int = Field(1, description="x")

    class Reserved(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        out: int = Field(1, description="clashes with --out")

    for model, fragment in [(NoDescription, "description"), (NotFrozen, "frozen"), (Reserved, "clashes")]:
        with pytest.raises(TypeError, match=fragment):
            register_run_command(RunCommand(f"test-bad-{model.__name__}", model, run))
    with pytest.raises(TypeError, match="must accept a list"):
        register_run_command(RunCommand("test-bad-vmap", Nested, run, vmapped_fields=frozenset({"d"})))
    with pytest.raises(MimflowError, match=r"unknown run command 'hermite_mc'; did you mean 'hermite-mc'\?"):
        get_run_command("hermite_mc")




def test_show_config_feeds_back_through_config(capsys, tmp_path):
    code, out, err = run_cli(capsys, "hermite-mc", "tanh", "--degree", "5", "--seeds", "3,7", "--show-config")
    assert code == 0, err
    assert 'link = "tanh"' in out and "degree = 5" in out and "seeds = [3, 7]" in out
    path = tmp_path / "run.toml"
    path.write_text(out)
    code, out2, err = run_cli(capsys, "hermite-mc", "--config", str(path), "--set", "n=500", "--show-config")
    assert code == 0, err
    assert out2.replace("n = 500", "n = 10000") == out
    # explicit options beat --set, which beats the file
    code, out3, err = run_cli(capsys, "hermite-mc", "--config", str(path), "--set", "n=500", "--n", "600",
                              "--show-config")
    assert "n = 600" in out3


def test_run_command_json_and_store(capsys, tmp_path):
    args = ["hermite-mc", "h2", "--degree", "4", "--n", "4000", "--seeds", "2", "--json"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    data = json.loads(out)
    assert data["exact"][2] == pytest.approx(1.0) and data["max_z_score"] < 6
    code, out, err = run_cli(capsys, *args, "--out", str(tmp_path))
    first = json.loads(out)
    assert first["reused"] is False and (tmp_path / first["run_id"] / "data.nc").is_file()
    code, out, err = run_cli(capsys, *args, "--out", str(tmp_path))
    again = json.loads(out)
    assert again["reused"] is True and again["run_id"] == first["run_id"]
    assert again["max_abs_error"] == first["max_abs_error"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["hermite-mc", "relu", "--degree", "41"], "degree = 41: Input should be less than or equal to 40"),
        (["hermite-mc", "relu", "--set", "degre=3"], "unknown key 'degre'; did you mean 'degree'?"),
        (["hermite-mc", "z1*z2"], "one-variable link"),
        (["hermite-mc", "relu", "--n", "100,1000"], "mimflow sweep hermite-mc"),
        (["hermite-mc", "relu", "--seeds", "1,1"], "distinct"),
        (["hermite-mc", "--config", "nope.toml"], "not found"),
    ],
)
def test_cli_config_errors_are_one_line(capsys, args, fragment):
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert err.startswith("mimflow: error:") and err.count("\n") == 1, err
    assert fragment in err


def test_booleans_are_refused_where_numbers_are_expected():
    """`--set ridge=true` used to become ridge = 1.0."""
    from mimflow.runs._config import resolve_config

    class Model(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        ridge: float = Field(0.0, description="a number")
        flag: bool = Field(False, description="a flag")
        seeds: int | list[int] = Field(1, description="seeds")

    assert resolve_config(Model, {"flag": True}).flag is True
    for layer in ({"ridge": True}, {"seeds": [0, False]}, {"seeds": True}):
        with pytest.raises(MimflowError, match="a boolean where"):
            resolve_config(Model, layer)
