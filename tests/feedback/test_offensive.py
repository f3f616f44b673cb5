from tfllm.feedback import OffensiveScorer


def test_offensive_sentence_scores_higher_and_document_is_max():
    text = "The weather is nice today. You are a fucking idiot."
    (scored,) = OffensiveScorer().score([text])
    neutral, offensive = scored.segment_scores
    assert neutral < OffensiveScorer.threshold < offensive
    assert scored.document_score == offensive
    assert "".join(scored.segments) == text


def test_batch_matches_one_by_one():
    texts = ["Hello friend.", "", "Shut up, you stupid moron! Thanks."]
    scorer = OffensiveScorer()
    assert scorer.score(texts) == [scorer.score([t])[0] for t in texts]
    assert scorer.score([""])[0].document_score == 0.0
