"""Runs from Python: the same result as the command line, config errors as exceptions, the
built-in devices."""

import json

import numpy as np
import pytest

import aeqlab
from conftest import run_cli


def test_python_and_command_line_give_the_same_parameters(tmp_path, xor_config):
    config_file = tmp_path / "xor.json"
    config_file.write_text(json.dumps(xor_config))
    from_dict = aeqlab.train(xor_config, out=tmp_path / "dict")
    from_file = aeqlab.train(config_file, out=tmp_path / "file")
    run_cli("train", "--config", config_file, "--out", tmp_path / "cli")
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert from_dict.summary["status"] == "completed"
    assert from_dict.summary["parameters_sha256"] == cli["parameters_sha256"]
    assert from_file.summary["parameters_sha256"] == cli["parameters_sha256"]
    # The session records the same resolved config either way.
    assert from_dict.config == json.loads((tmp_path / "cli" / "config.json").read_text())


def test_a_built_in_device_made_in_python_trains_as_its_config_does(tmp_path, xor_config):
    section = dict(xor_config["device"], type="hopfield")
    device = aeqlab.make_device(section, batch_size=4)
    assert device.describe()["replicas"] == 4
    by_device = aeqlab.train(xor_config, device=device, out=tmp_path / "device")
    by_config = aeqlab.train(xor_config, out=tmp_path / "config")
    assert by_device.summary["parameters_sha256"] == by_config.summary["parameters_sha256"]
    assert by_device.config["device"] == by_config.config["device"]


def test_config_errors_are_python_exceptions_naming_key_and_file(tmp_path, xor_config):
    xor_config["trainer"]["epochs"] = "many"
    with pytest.raises(aeqlab.ConfigError, match=r"trainer\.epochs: expected a number"):
        aeqlab.train(xor_config, out=tmp_path / "a")
    with pytest.raises(ValueError, match=r"trainer\.epoch: unknown key"):
        aeqlab.train({"trainer": {"epoch": 3}}, out=tmp_path / "b")
    bad = tmp_path / "bad.json"
    bad.write_text('{"trainer": {"epochs": 3,}}')
    with pytest.raises(aeqlab.ConfigError, match=r"bad\.json:1: malformed JSON"):
        aeqlab.train(bad, out=tmp_path / "c")
    bad.write_text('{"trainer": {"epoch": 3}}')
    # The command line says the same.
    cli = run_cli("train", "--config", bad, "--out", tmp_path / "d", check=False)
    with pytest.raises(aeqlab.ConfigError) as e:
        aeqlab.train(bad, out=tmp_path / "e")
    assert str(e.value) in cli.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "e").exists()


def test_the_contract_refuses_for_built_in_devices_too():
    h = aeqlab.hopfield([2, 4, 2], replicas=2, seed=3)
    with pytest.raises(aeqlab.SafeRangeError, match=r"input channel .* refused 7"):
        h.set_inputs(np.array([[7.0, 0.0]]))
    with pytest.raises(aeqlab.DeviceError, match="3 input values"):
        h.set_inputs([0.1, 0.2, 0.3], 1)
    h.set_inputs([[0.0, 1.0], [1.0, 0.0]])
    report = h.settle()
    assert report["converged"] and h.read_outputs().shape == (2, 2)
    theta = h.read_parameters()
    assert theta.shape == (sum(g["count"] for g in h.describe()["parameters"]),)


def test_eval_and_report_of_a_session(tmp_path, xor_config):
    s = aeqlab.train(xor_config, out=tmp_path / "s")
    e = aeqlab.eval(s)
    assert e["test_error"] == pytest.approx(s.summary["test_error"])
    assert e["test_samples"] == 4
    folder = s.report(out=tmp_path / "report")
    assert (folder / "index.html").exists()
