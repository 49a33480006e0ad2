"""The registry: variants from YAML, settings checked by name, taxonomy carried, clear errors."""
import pytest
import torch

import zoo
from zoo import registry


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test vanish after it."""
    registry._load_builtins()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))


TAXONOMY = dict(domain="language", section="Block design: integration", mechanism="hybrid", paper="x", year=2024)


def test_builtin_language_variants_are_registered_with_taxonomy():
    names = zoo.list_models("language")
    assert {"mamba", "mamba2", "s4d", "transformerpp", "jamba_style"} <= set(names)
    for name in names:
        info = zoo.model_info(name)
        assert set(registry.TAXONOMY_KEYS) <= set(info.taxonomy)
        assert info.source.endswith(".yaml")
    assert "mamba" not in zoo.list_models("vision")


def test_overrides_reach_the_model_and_merge_nested_settings():
    m = zoo.create_model("mamba", vocab_size=11, d_model=32, mixers={"mamba1": {"d_state": 4}})
    assert m.embed.weight.shape == (11, 32)
    assert len(m.backbone.blocks) == len(zoo.model_info("mamba").defaults["pattern"])
    assert m.backbone.blocks[0].mixer.A_log.shape[-1] == 4
    assert zoo.model_info("mamba").defaults["mixers"]["mamba1"]["d_state"] == 16  # the defaults are not mutated


def test_a_new_variant_is_one_yaml_file(tmp_path, scratch_registry):
    (tmp_path / "hybrid.yaml").write_text(
        "name: my_hybrid\nbuilder: language_model\n"
        "taxonomy: {domain: language, section: 'Block design: integration', mechanism: hybrid, paper: me, year: 2026}\n"
        "config: {d_model: 32, pattern: M2A, mixers: {mamba1: {d_state: 8}, mamba2: {d_state: 32, headdim: 16}}}\n")
    assert zoo.load_variants(tmp_path) == ["my_hybrid"]
    m = zoo.create_model("my_hybrid", vocab_size=8)
    assert [type(b.mixer).__name__ for b in m.backbone.blocks] == ["Mamba1Mixer", "Mamba2Mixer", "AttentionMixer"]
    assert m(torch.randint(0, 8, (2, 5))).shape == (2, 5, 8)


def test_variants_folder_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "v.yaml").write_text("name: env_variant\nbuilder: language_model\n"
                                     "taxonomy: {domain: language, section: s, mechanism: m, paper: p, year: 1}\n"
                                     "config: {pattern: S}\n")
    monkeypatch.setenv(registry.VARIANTS_ENV, str(tmp_path))
    monkeypatch.setattr(registry, "_MODELS", {})
    monkeypatch.setattr(registry, "_builtins_loaded", False)
    assert "env_variant" in zoo.list_models() and "mamba" in zoo.list_models()


def test_unknown_model_suggests_the_closest_names():
    with pytest.raises(KeyError, match=r"unknown model 'mamba3'.*did you mean mamba"):
        zoo.create_model("mamba3", vocab_size=4)


def test_misspelled_setting_is_named_with_a_suggestion():
    with pytest.raises(ValueError, match=r"model 'mamba' has no setting 'patern'; did you mean 'pattern'"):
        zoo.create_model("mamba", vocab_size=4, patern="MM")


def test_duplicate_name_is_an_error(scratch_registry):
    with pytest.raises(ValueError, match=r"'mamba'.*already registered"):
        zoo.register_model("mamba", "language_model", TAXONOMY)


def test_variant_file_errors_name_the_file(tmp_path, scratch_registry):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbuilder: language_model\ntaxonomy: {domain: language}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml.*taxonomy lacks"):
        zoo.load_variants(bad)
    bad.write_text("name: y\nbuilder: language_model\ntaxonomy: {}\nconfg: {}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: unknown keys \['confg'\]"):
        zoo.load_variants(bad)
    bad.write_text(f"name: z\nbuilder: language_model\ntaxonomy: {TAXONOMY}\nconfig: {{d_stat: 3}}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml.*no setting 'd_stat'"):
        zoo.load_variants(bad)
    bad.write_text(f"name: s\nbuilder: language_model\ntaxonomy: {TAXONOMY}\nsizes: {{big: {{confg: {{}}}}}}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml\): size 'big' must be a name other than 'paper' holding"):
        zoo.load_variants(bad)
    bad.write_text(f"name: t\nbuilder: language_model\ntaxonomy: {TAXONOMY}\nsizes: {{big: {{config: {{widht: 8}}}}}}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml\) \(size big\) has no setting 'widht'"):
        zoo.load_variants(bad)


def test_a_variant_file_adds_its_paper_size_as_config(tmp_path, scratch_registry):
    (tmp_path / "wide.yaml").write_text(
        f"name: wide\nbuilder: language_model\ntaxonomy: {TAXONOMY}\nconfig: {{d_model: 16, pattern: M}}\n"
        "sizes: {big: {io: {vocab_size: 100}, config: {d_model: 32}, published: {params: 9000, source: me}}}\n")
    zoo.load_variants(tmp_path)
    assert zoo.create_model("wide", size="paper", vocab_size=10).embed.weight.shape == (10, 32)
    assert zoo.resolved_config("wide", size="big", pattern="MM") == {"d_model": 32, "pattern": "MM"}


def test_every_domain_folder_registers_its_builders():
    """variants/<domain>/ is loaded after importing zoo.<domain>: no hand-kept list of domains."""
    assert {"s_mamba", "itransformer", "patchtst", "dlinear"} <= set(zoo.list_models("timeseries"))
    assert {"variate_forecaster", "patch_forecaster", "dlinear", "language_model"} <= set(registry._BUILDERS)


def test_a_builder_taking_any_settings_checks_them_itself(scratch_registry, monkeypatch):
    monkeypatch.setattr(registry, "_BUILDERS", dict(registry._BUILDERS))

    @registry.register_builder("wrapper")
    def wrapper(**settings):
        return torch.nn.Linear(settings.pop("width"), 1)
    zoo.register_model("wrapped", "wrapper", TAXONOMY, width=3)
    assert zoo.create_model("wrapped", anything_else=1).in_features == 3


@pytest.mark.parametrize("settings, message", [
    (dict(d_model=0), r"model.d_model must be a positive number \(default 64\), got 0"),
    (dict(d_model=float("nan")), r"model.d_model must be a positive number"),
    (dict(mixers={"mamba1": {"d_state": -1}}), r"model.mixers.mamba1.d_state must be a positive number"),
    (dict(mlp_ratio=-1.0), r"model.mlp_ratio must be a finite number of 0 or more"),
])
def test_a_size_that_is_not_positive_is_named_before_torch_sees_it(settings, message):
    with pytest.raises(ValueError, match=message):
        zoo.create_model("mamba", vocab_size=16, **settings)


def test_sizes_that_are_fine_pass_the_check():
    # a float where the default is an integer (expand 1.5), and 0 where the default is a positive float
    model = zoo.create_model("mamba", vocab_size=16, d_model=24, mlp_ratio=0.0, mixers={"mamba1": {"expand": 1.5}})
    assert model.embed.weight.shape == (16, 24) and model.backbone.blocks[0].mixer.d_inner == 36
