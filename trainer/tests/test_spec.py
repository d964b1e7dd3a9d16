import json

import pytest

from conftest import BASE_SPEC
from distillery_trainer.errors import InvalidInputError
from distillery_trainer.spec import load_spec, max_saving_ffn_rank


@pytest.mark.parametrize("hidden,intermediate,expected", [(312, 1200, 247), (768, 3072, 614), (64, 96, 38), (8, 8, 3)])
def test_max_saving_ffn_rank_is_the_last_rank_below_h_i_over_h_plus_i(hidden, intermediate, expected):
    r = max_saving_ffn_rank(hidden, intermediate)
    assert r == expected
    assert r * (hidden + intermediate) < hidden * intermediate <= (r + 1) * (hidden + intermediate)


def test_a_hand_written_spec_with_an_ffn_rank_that_saves_nothing_is_bad_input(make_spec):
    student = dict(BASE_SPEC["student"])  # 64 x 96: r (64 + 96) < 6144 up to r = 38
    assert load_spec(make_spec(student={**student, "ffn_rank": 38})).student.ffn_rank == 38
    path = make_spec(student={**student, "ffn_rank": 39})
    with pytest.raises(InvalidInputError, match=r"student.ffn_rank 39 saves no weights: .* 6240 against .* 6144 dense; use a rank of at most 38") as info:
        load_spec(path)
    assert info.value.file == path


def test_general_distill_needs_no_temperature(make_spec):
    path = make_spec()
    assert "temperature" not in json.load(open(path))["stages"]["general_distill"]
    assert load_spec(path).stages["general_distill"].temperature == 1.0  # plain logits: it has no prediction loss
