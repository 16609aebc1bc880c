"""Config loading and validation."""

import pytest

from cppn.profile import CppnConfigError, default_config_path, load_profile


def write(tmp_path, text):
    path = tmp_path / "user.cfg"
    path.write_text(text)
    return path


def test_default_profile_follows_the_protocol():
    p = load_profile(num_outputs=3)
    gc = p.genome_config
    assert (gc.num_inputs, gc.num_outputs, gc.num_hidden) == (4, 3, 0)
    assert gc.feed_forward and gc.initial_connection == "full_direct"
    assert (gc.conn_add_prob, gc.conn_delete_prob) == (0.5, 0.3)
    assert (gc.node_add_prob, gc.node_delete_prob) == (0.5, 0.2)
    assert gc.activation_options == ["sine", "bipolar_sigmoid", "gaussian", "linear"]
    assert gc.activation_mutate_rate == 0.1
    assert (gc.bias_init_stdev, gc.bias_mutate_rate, gc.response_init_mean) == (0.0, 0.0, 1.0)
    assert (gc.weight_min_value, gc.weight_max_value) == (-10.0, 10.0)
    assert (p.weight_polynomial_rate, p.weight_polynomial_eta) == (0.1, 15.0)
    assert default_config_path().name == "default.cfg"


def test_user_file_is_merged_and_lists_normalised(tmp_path):
    path = write(
        tmp_path,
        "[DefaultGenome]\nnode_add_prob = 0.9\n"
        "activation_options = sine  gaussian\n[Cppn]\nweight_polynomial_eta = 20\n",
    )
    p = load_profile(path)
    assert p.genome_config.node_add_prob == 0.9
    assert p.genome_config.conn_add_prob == 0.5  # kept from default.cfg
    assert p.genome_config.activation_options == ["sine", "gaussian"]
    assert p.weight_polynomial_eta == 20.0


@pytest.mark.parametrize(
    "text, key",
    [
        ("[DefaultGenome]\nnode_add_probb = 0.5\n", "node_add_probb"),
        ("[DefaultGenome]\nconn_add_prob = 1.5\n", "conn_add_prob"),
        ("[DefaultGenome]\nactivation_mutate_rate = -0.1\n", "activation_mutate_rate"),
        ("[DefaultGenome]\nweight_max_value = ten\n", "weight_max_value"),
        ("[DefaultGenome]\nactivation_options = sine tanh\n", "activation_options"),
        ("[DefaultGenome]\nactivation_options =\n", "activation_options"),
        ("[DefaultGenome]\nactivation_options = sine sine\n", "activation_options"),
        ("[DefaultGenome]\naggregation_options = product\n", "aggregation_options"),
        ("[DefaultGenome]\nfeed_forward = False\n", "feed_forward"),
        ("[DefaultGenome]\nnum_outputs = 3\n", "num_outputs"),
        ("[DefaultGenome]\nnum_inputs = 2\n", "num_inputs"),
        ("[DefaultGenome]\nactivation_default = tanh\n", "activation_default"),
        ("[Cppn]\nweight_polynomial_rate = 2\n", "weight_polynomial_rate"),
        ("[Cppn]\nmystery = 2\n", "mystery"),
        ("[Mystery]\na = 1\n", "Mystery"),
    ],
)
def test_bad_configs_raise_one_line_errors_naming_the_key(tmp_path, text, key):
    with pytest.raises(CppnConfigError) as info:
        load_profile(write(tmp_path, text))
    message = str(info.value)
    assert key in message and "\n" not in message
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(CppnConfigError, match="not found"):
        load_profile(tmp_path / "nope.cfg")
