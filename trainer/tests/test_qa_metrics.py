"""In-training QA metrics: the answer is chosen over all of an example's windows, as serving
chooses it, so a model that answers [CLS] everywhere scores only the unanswerable share."""

import torch

from distillery_trainer.metrics import example_answer, example_span_metrics, window_scores

NEG = -20.0


def _logits(length, hot):
    x = torch.full((length,), NEG)
    x[hot] = 10.0
    return x


def test_the_answer_in_a_later_window_wins_over_the_first_windows_null():
    # Window 1 (context tokens 0..3) says [CLS]; window 2 (tokens 2..5) points at context token 4.
    offset = 3
    first = window_scores(_logits(10, 0), _logits(10, 0), offset, 4, window_start=0)
    second = window_scores(_logits(10, offset + 2), _logits(10, offset + 2), offset, 4, window_start=2)
    assert second.span is not None and second.span[1:] == (4, 4)
    # The bar is the smallest null of any window: window 2's, near zero.
    assert example_answer([first, second]) == (4, 4)


def test_a_model_that_always_says_no_answer_scores_the_unanswerable_share_only():
    cls_everywhere = [window_scores(_logits(10, 0), _logits(10, 0), 3, 6, 0)]
    predicted = [example_answer(cls_everywhere)] * 4
    gold = [(1, 2), (3, 3), None, (0, 1)]
    assert predicted[0] is None
    assert example_span_metrics(predicted, gold) == {"exact_match": 0.25, "f1": 0.25}


def test_partial_overlap_gives_token_f1():
    metrics = example_span_metrics([(2, 5)], [(4, 7)])
    # overlap 2 tokens, precision 2/4, recall 2/4.
    assert metrics["exact_match"] == 0.0 and abs(metrics["f1"] - 0.5) < 1e-9


def test_an_empty_window_has_no_span_and_only_a_null_score():
    w = window_scores(_logits(5, 0), _logits(5, 0), 5, 0, 0)
    assert w.span is None and w.null > 0.99
    assert example_answer([w]) is None
