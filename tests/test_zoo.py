"""The architecture registry and load_model: every config.json names its arch, old folders still load, and an
architecture defined anywhere registers itself."""

import json

import pytest
import torch

from irae_hf import IRAE, WeightsError
from irae_hf.models.base import RestorationModel
from irae_hf.models.dncnn import DnCNN
from irae_hf.models.registry import ARCHS, build, load_model


@pytest.mark.parametrize("cls", [IRAE, DnCNN])
def test_config_json_names_the_architecture_and_load_model_follows_it(tmp_path, cls):
    cls(width=8, depth=3).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["arch"] == cls.arch
    assert type(load_model(tmp_path)) is cls and ARCHS[cls.arch] is cls


def test_folders_from_before_the_arch_key_load_as_irae(tmp_path):
    IRAE(width=8, depth=1).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["arch"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert type(load_model(tmp_path)) is IRAE and type(IRAE.from_pretrained(tmp_path)) is IRAE


def test_a_class_refuses_another_architectures_folder(tmp_path):
    DnCNN(width=8, depth=3).save_pretrained(tmp_path)
    with pytest.raises(WeightsError, match="holds a 'dncnn' model, not 'irae'"):
        IRAE.from_pretrained(tmp_path)


def test_a_new_architecture_registers_itself_and_round_trips(tmp_path):
    class Brightness(RestorationModel):  # a toy network: one learnt gain
        arch = "toy-gain"

        def __init__(self, task: str = "denoise", width: int = 1):
            super().__init__()
            self.task = task
            self.gain = torch.nn.Parameter(torch.ones(1))

        def forward(self, x, cond):
            return x * self.gain

    try:
        assert ARCHS["toy-gain"] is Brightness and Brightness.multiple_for() == 1
        model = build("toy-gain", task="denoise")
        model.save_pretrained(tmp_path)
        assert type(load_model(tmp_path)) is Brightness
    finally:
        ARCHS.pop("toy-gain", None)
