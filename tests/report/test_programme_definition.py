"""Programme definition files: errors that name file, line and key with the closest known
name; a missing column named with its input; a failing section marked, the rest built;
custom sections through the ``evalkit.sections`` entry-point group."""

from __future__ import annotations

import sys
import textwrap

import pytest

from evalkit.errors import ConfigError
from evalkit.report import Report
from evalkit.report.programme import PROGRAMMES, get_programme, load_programme, parse_programme
from evalkit.report.sections import ENTRY_POINT_GROUP, get_section, section_names

GOOD = """\
[programme]
title = { fr = "Mon programme", en = "My programme" }

[inputs.panel]
contract = "panel"
[inputs.panel.roles]
id = "unit_id"
period = "period"
first_treated = "first_treated"
outcome = "return_to_work"

[[analyses]]
name = "twfe"
section = "twfe"
input = "panel"

[[analyses]]
name = "cs"
section = "callaway_santanna"
input = "panel"
parameters = { n_boot = 49 }
"""


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_programme(text, "mine", "defs/mine.toml")
    return str(info.value)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('section = "callaway_santanna"', 'section = "callaway_santana"',
     "defs/mine.toml, line 19: key 'analyses.1.section': unknown section 'callaway_santana'; "
     "did you mean 'callaway_santanna'?"),
    ("outcome = ", "outcom = ",
     "defs/mine.toml, line 10: key 'inputs.panel.roles.outcom' is not a known key; did you "
     "mean 'outcome'?"),
    ("[inputs.panel]", "[input.panel]", "line 4: key 'input' is not a known key; did you mean "
     "'inputs'?"),
    ("parameters = { n_boot = 49 }", "parameters = { n_boots = 49 }",
     "line 21: key 'analyses.1.parameters.n_boots' is not a known key; did you mean 'n_boot'?"),
    ("parameters = { n_boot = 49 }", 'parameters = { n_boot = "many" }',
     "line 21: key 'analyses.1.parameters.n_boot' must be an integer, got str"),
    ('input = "panel"\n\n[[analyses]]', 'input = "panell"\n\n[[analyses]]',
     "line 15: key 'analyses.0.input' = 'panell' (an input) is not a known key; did you mean "
     "'panel'?"),
    ('contract = "panel"', 'contract = "pannel"', "did you mean 'panel'?"),
])
def test_errors_name_file_line_key_and_closest_name(old, new, expected):
    assert old in GOOD
    assert expected in _error(GOOD.replace(old, new, 1))


def test_text_with_a_field_the_section_does_not_fill_is_refused():
    text = GOOD + '[analyses.text]\nintro = { fr = "Effet : {estimat}", en = "Effect: {estimat}" }\n'
    message = _error(text)
    assert "line 23: key 'analyses.1.text.intro' uses ['estimat']" in message
    assert "'estimate'" in message


def test_contract_mismatch_is_refused():
    text = GOOD.replace('section = "twfe"', 'section = "rule_typology"')
    assert "section 'rule_typology' reads a sequences input, 'panel' is declared as panel" \
        in _error(text)


def test_missing_column_names_input_and_role_and_the_rest_is_built(tmp_path):
    from evalkit.datasets import rsa_experiment

    panel = rsa_experiment.generate(seed=3, n_units=240, n_zones=12)["panel"]
    spec = parse_programme(GOOD.replace('outcome = "return_to_work"', 'outcome = "retour"')
                           .replace('section = "callaway_santanna"', 'section = "bacon"')
                           .replace("parameters = { n_boot = 49 }", "")
                           + '\n[[analyses]]\nname = "desc"\nsection = "panel_descriptives"\n'
                             'input = "panel"\n[analyses.roles]\noutcome = "return_to_work"\n',
                           "mine")
    section = spec.build({"panel": panel}, lang="en")
    statuses = {s.key: (s.status, s.reason) for s in section.walk() if s.key}
    status, reason = statuses["mine-twfe"]
    assert status == "failed"
    assert "input 'panel' has no column 'retour' (role 'outcome', parameter 'outcome') that " \
        "analysis 'twfe' of programme 'mine' reads" in reason
    assert "'mine.parameters.outcome' in the configuration" in reason
    assert statuses["mine-desc"] == ("ok", "")  # another analysis, its own roles: built


def test_a_definition_beside_the_configuration_and_by_path(tmp_path):
    from evalkit.report import load_config

    (tmp_path / "mine.programme.toml").write_text(GOOD)
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "other.toml").write_text(GOOD.replace("Mon programme", "Autre"))
    config = tmp_path / "c.toml"
    config.write_text('[mine.inputs]\npanel = "p.csv"\n[autre]\nprogramme = "defs/other.toml"\n'
                      '[autre.inputs]\npanel = "p.csv"\n[mine.parameters]\nn_boot = 19\n')
    cfg = load_config(config)
    assert [p.spec.title["fr"] for p in cfg.programmes] == ["Mon programme", "Autre"]
    assert cfg.programmes[0].parameters == {"n_boot": 19}
    config.write_text('[mien.inputs]\npanel = "p.csv"\n')
    with pytest.raises(ConfigError, match=r"line 1: key 'mien': unknown programme 'mien'"):
        load_config(config)


def test_seed_programmes_are_package_data():
    assert PROGRAMMES == ("cpas_careers", "hope_in_stations", "rsa_experiment")
    for name in PROGRAMMES:
        spec = get_programme(name)
        assert spec.path.name == f"{name}.toml" and spec.analyses
        # Every input that holds people declares its identifier: the report protects it.
        assert all(s.id_column for n, s in spec.inputs.items() if s.contract != "edges"
                   and n != "organisations")


PLUGIN = '''
from evalkit.report.elements import Section, Table
from evalkit.report.sections import ParamSpec, SectionSpec


def build(data, ctx, params):
    frame = data.frame.groupby(data.role("site")).size().to_frame("n")
    frame = frame[frame["n"] >= params["min_n"]]
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", n_sites=ctx.number(len(frame))))
    return section.add(Table(frame, ctx.text("caption"), counts=["n"]))


SECTION = SectionSpec(
    name="sites_count", contract="table", roles=("site",), build=build,
    parameters={"min_n": ParamSpec(int, 1, "smallest site shown", minimum=1)},
    text={"title": ("Sites", "Sites"), "intro": ("{n_sites} sites.", "{n_sites} sites."),
          "caption": ("Personnes par site", "People by site")},
)
'''


def test_custom_section_through_the_entry_point_group(tmp_path, monkeypatch):
    # A real distribution on sys.path declaring the entry point, as `pip install` would.
    (tmp_path / "my_sections.py").write_text(PLUGIN)
    dist = tmp_path / "my_sections-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-sections\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nsites_count = my_sections:SECTION\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "sites_count" in section_names()
    assert get_section("sites_count").parameters["min_n"].default == 1

    definition = tmp_path / "sites.toml"
    definition.write_text(textwrap.dedent("""
        [programme]
        title = "Sites"
        [inputs.people]
        [inputs.people.roles]
        site = "lieu"
        [[analyses]]
        name = "count"
        section = "sites_count"
        input = "people"
        parameters = { min_n = 2 }
        [analyses.text]
        intro = { fr = "{n_sites} lieux suivis.", en = "{n_sites} places followed." }
    """))
    import pandas as pd

    spec = load_programme(definition)
    people = pd.DataFrame({"lieu": ["A"] * 30 + ["B"] * 20 + ["C"]})
    section = spec.build({"people": people}, lang="fr")
    report = Report("t", lang="fr").add(section)
    html = report.render()
    assert "2 lieux suivis." in html and "Personnes par site" in html
    assert report.failures == []
    sys.modules.pop("my_sections", None)
