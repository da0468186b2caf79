"""Configuration validation: each error names the key, its line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_helpers import REPO

from evalkit.errors import ConfigError
from evalkit.report.config import load_config, parse_config

GOOD = """\
title = "T"
lang = "en"
seed = 5
root = "/data"

[rsa_experiment]
analyses = ["twfe"]

[rsa_experiment.inputs]
panel = "panel.csv"

[rsa_experiment.parameters]
n_boot = 99
covariates = ["age"]
"""


def test_valid_config_is_typed_and_paths_resolved():
    config = parse_config(GOOD, Path("/cfg/x.toml"))
    assert config.lang == "en" and config.seed == 5 and config.disclosure_threshold == 11
    (prog,) = config.programmes
    assert prog.name == "rsa_experiment" and prog.analyses == ["twfe"]
    assert prog.inputs == {"panel": Path("/data/panel.csv")}
    assert prog.parameters["n_boot"] == 99 and prog.parameters["covariates"] == ["age"]
    assert "control_group" not in prog.parameters  # the definition gives it
    assert prog.spec.defaults()["control_group"] == "nevertreated"
    assert config.output_path == Path("/data/reports/output/x.html")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("seed = 5", "sed = 5", r"line 3: key 'sed' is not a known key; did you mean 'seed'\?"),
        ("n_boot = 99", "n_boots = 99",
         r"line 13: key 'rsa_experiment.parameters.n_boots' .*did you mean 'n_boot'\?"),
        ("panel = ", "pannel = ", r"line 10: key 'rsa_experiment.inputs.pannel'.*'panel'"),
        ("n_boot = 99", 'n_boot = "many"',
         r"line 13: key 'rsa_experiment.parameters.n_boot' must be an integer, got str"),
        ('lang = "en"', 'lang = "de"', r"line 2: key 'lang' must be one of \['fr', 'en'\]"),
        ('analyses = ["twfe"]', 'analyses = ["twfee"]', r"line 7: .*unknown value\(s\) \['twfee'\]"),
        ("seed = 5", "seed = -1", r"line 3: key 'seed' must be >= 0"),
        ("[rsa_experiment.inputs]", "[rsa_experiment.input]", r"line 9: .*did you mean 'inputs'"),
        ("[rsa_experiment]", "[rsa_experimnt]", r"line 6: .*did you mean 'rsa_experiment'"),
    ],
)
def test_errors_name_key_and_line(old, new, message):
    text = GOOD.replace(old, new)
    with pytest.raises(ConfigError, match=message):
        parse_config(text, Path("/cfg/x.toml"))


def test_missing_input_syntax_error_and_no_programme():
    no_input = GOOD.replace('panel = "panel.csv"', "")
    with pytest.raises(ConfigError, match=r"required input\(s\) \['panel'\] missing"):
        parse_config(no_input)
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 1"):
        parse_config("title = \n")
    with pytest.raises(ConfigError, match="no programme to report on"):
        parse_config('title = "x"\n')
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config("/nonexistent/config.toml")


@pytest.mark.parametrize("name", ["annual_report", "hope_in_stations", "rsa_experiment",
                                  "cpas_careers"])
def test_shipped_configs_are_valid_and_point_at_data_samples(name):
    config = load_config(REPO / "reports" / "configs" / f"{name}.toml")
    for prog in config.programmes:
        for path in prog.inputs.values():
            assert path.parent == REPO / "data_samples"
    assert config.output_dir == REPO / "reports" / "output"


def test_title_per_language():
    text = GOOD.replace('title = "T"', 'title = { fr = "Rapport", en = "Report" }')
    assert parse_config(text).title == {"fr": "Rapport", "en": "Report"}
    assert parse_config(GOOD).title == {"fr": "T", "en": "T"}
    with pytest.raises(ConfigError, match=r"line 1: key 'title.de' is not a known key; known keys"):
        parse_config(GOOD.replace('title = "T"', 'title = { fr = "R", de = "B" }'))
    with pytest.raises(ConfigError, match=r"gives no text for \['en'\]"):
        parse_config(GOOD.replace('title = "T"', 'title = { fr = "R" }'))
