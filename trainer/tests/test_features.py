import random

from distillery_trainer.data import ClassificationExample, QaAnswer, QaExample
from distillery_trainer.features import classification_features, collate, plan_windows, qa_features


def test_plan_windows_matches_the_serving_rule():
    # 32 tokens, question of 5: 24 context tokens per window, overlap min(16, 12) = 12, step 12.
    assert plan_windows(5, 50, 32, 16) == [(0, 24), (12, 24), (24, 24), (36, 14)]
    assert plan_windows(5, 10, 32, 16) == [(0, 10)]
    assert plan_windows(5, 24, 32, 4) == [(0, 24)]


def test_answer_beyond_the_first_window_lands_in_a_later_one(tokenizer):
    words = [f"w{i}" for i in range(60)]
    context = " ".join(words)
    answer = "w45 w46"
    start = context.index(answer)
    ex = QaExample("q1", "where", context, [QaAnswer(answer, start)])
    feats = qa_features(tokenizer, [ex], max_length=32, doc_stride=8, max_query_length=8)
    assert len(feats) > 2
    hits = [f for f in feats if f.start_position != 0]
    assert hits, "some window must contain the answer"
    for f in feats:
        assert len(f.input_ids) <= 32
        if f.start_position == 0:
            assert f.end_position == 0  # not in this window: points at [CLS]
    assert feats[0].start_position == 0
    for f in hits:
        span_ids = f.input_ids[f.start_position : f.end_position + 1]
        assert [tokenizer.id_to_token[i] for i in span_ids] == [t.text for t in tokenizer.tokenize(answer)]
        assert f.type_ids[f.start_position] == 1
        assert f.start_position >= f.context_offset and f.end_position < f.context_offset + f.context_count


def test_answer_windows_only_keeps_the_answer_and_the_first_unanswerable_window(tokenizer):
    context = " ".join(f"w{i}" for i in range(60))
    answerable = QaExample("q1", "where", context, [QaAnswer("w45 w46", context.index("w45 w46"))])
    impossible = QaExample("q2", "who", context, [], is_impossible=True)
    all_windows = qa_features(tokenizer, [answerable, impossible], max_length=32, doc_stride=8, max_query_length=8)
    kept = qa_features(tokenizer, [answerable, impossible], max_length=32, doc_stride=8, max_query_length=8,
                       only_answer_windows=True)
    assert len(kept) < len(all_windows)
    by_example = {0: [f for f in kept if f.example_index == 0], 1: [f for f in kept if f.example_index == 1]}
    assert by_example[0] and all(f.start_position != 0 for f in by_example[0])
    assert len(by_example[1]) == 1 and (by_example[1][0].start_position, by_example[1][0].end_position) == (0, 0)


def test_one_other_window_adds_a_fixed_no_answer_window_per_answerable_question(tokenizer):
    context = " ".join(f"w{i}" for i in range(60))
    answerable = QaExample("q1", "where", context, [QaAnswer("w45 w46", context.index("w45 w46"))])
    impossible = QaExample("q2", "who", context, [], is_impossible=True)
    args = dict(max_length=32, doc_stride=8, max_query_length=8, only_answer_windows=True)
    answer_only = qa_features(tokenizer, [answerable, impossible], **args)
    with_other = qa_features(tokenizer, [answerable, impossible], **args, other_windows=1)
    assert len(with_other) == len(answer_only) + 1
    extra = [f for f in with_other if f.example_index == 0 and f.start_position == 0]
    assert len(extra) == 1 and extra[0].end_position == 0
    # The unanswerable question still gives its first window only.
    assert len([f for f in with_other if f.example_index == 1]) == 1
    again = qa_features(tokenizer, [answerable, impossible], **args, other_windows=1)
    assert [f.input_ids for f in again] == [f.input_ids for f in with_other]


def test_unanswerable_points_at_cls(tokenizer):
    ex = QaExample("q2", "who", "nobody here at all", [], is_impossible=True)
    (f,) = qa_features(tokenizer, [ex], max_length=32, doc_stride=8, max_query_length=8)
    assert (f.start_position, f.end_position) == (0, 0)


def test_classification_truncates_longest_first(tokenizer):
    ex = ClassificationExample("great " * 30, "bad", "pos")
    (f,) = classification_features(tokenizer, [ex], {"pos": 0}, max_length=16)
    assert len(f.input_ids) == 16
    assert f.type_ids.count(1) >= 2  # the short pair survives
    batch = collate([f], tokenizer.pad_id, "classification")
    assert batch.attention_mask.sum() == 16 and batch.labels.tolist() == [0]


def test_data_order_groups_lengths_and_stays_a_seeded_permutation():
    from distillery_trainer.loop import data_order

    rng = random.Random(3)
    lengths = [rng.randint(4, 64) for _ in range(1000)]
    order = data_order(len(lengths), 7, "teacher_finetune", 1, lengths, 32)
    assert sorted(order) == list(range(1000))
    assert order == data_order(len(lengths), 7, "teacher_finetune", 1, lengths, 32)
    assert order != data_order(len(lengths), 7, "teacher_finetune", 2, lengths, 32)

    def padded(o):
        return sum(32 * max(lengths[i] for i in o[k:k + 32]) for k in range(0, len(o), 32))

    plain = data_order(len(lengths), 7, "teacher_finetune", 1)
    # Batches cut from the order pad far less than batches of a plain shuffle.
    assert padded(order) < 0.7 * padded(plain)
    # The short batch (1000 = 31 x 32 + 8) is the last one, so batch boundaries line up.
    batches = [order[k:k + 32] for k in range(0, 1000, 32)]
    assert all(max(lengths[i] for i in b) - min(lengths[i] for i in b) <= 8 for b in batches[:-1])
