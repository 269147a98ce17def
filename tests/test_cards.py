"""irae_hf.models.cards: the model card templates."""

from irae_hf.models.cards import DNCNN_CARD, IRAE_CARD


def test_templates_have_the_sections_a_run_fills():
    for template in (IRAE_CARD, DNCNN_CARD):
        assert "{{ training" in template and "{{ evaluation" in template
