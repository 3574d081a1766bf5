"""The text datasets as registered: torch-free registration, and bundles a model can learn from."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dlstudio.contract import LoadContext
from dlstudio.params import param_defaults
from dlstudio.spec import SpecError, check_params
from dlstudio_text.data.catalog import dataset_specs
from dlstudio_text.tokens import Encoder


def _spec(data_id):
    return next(s for s in dataset_specs() if s.id == data_id)


def _params(data_id, **values):
    spec = _spec(data_id)
    return check_params("data.params", data_id, values, spec.defaults, spec.choices)


def test_registering_the_datasets_imports_no_torch():
    code = ("import sys; from dlstudio_text.data.catalog import dataset_specs; "
            "[s.validate() for s in dataset_specs()]; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": "plugins"})
    assert out.stdout.strip() == "False"


def test_on_the_generated_reviews_an_lstm_beats_a_bag_of_embeddings(tmp_path):
    import torch
    from torch import nn

    ctx = LoadContext(cache_dir=tmp_path, seed=0)
    bundle = _spec("text.sentiment").load(_params("text.sentiment", train_size=2000, valid_size=300), ctx)
    encoder = Encoder.from_json(bundle.info.extra["encoder"])
    assert bundle.info.classes == ("negative", "positive")

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.EmbeddingBag(encoder.vocab_size, 32, mode="mean", padding_idx=encoder.pad_id)
            self.out = nn.Linear(32, 2)

        def forward(self, tokens, lengths):
            return self.out(self.emb(tokens))

    class Lstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(encoder.vocab_size, 32, padding_idx=encoder.pad_id)
            self.rnn = nn.LSTM(32, 64, batch_first=True)
            self.out = nn.Linear(64, 2)

        def forward(self, tokens, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.emb(tokens), lengths.clamp(min=1), batch_first=True,
                                                       enforce_sorted=False)
            return self.out(self.rnn(packed)[1][0][-1])

    def accuracy(model):
        torch.manual_seed(0)
        loader = torch.utils.data.DataLoader(bundle.train, batch_size=64, shuffle=True, collate_fn=bundle.collate)
        opt = torch.optim.Adam(model.parameters(), 3e-3)
        for _ in range(10):
            for tokens, lengths, labels in loader:
                loss = nn.functional.cross_entropy(model(tokens, lengths), labels)
                opt.zero_grad()
                loss.backward()
                opt.step()
        valid = torch.utils.data.DataLoader(bundle.valid, batch_size=300, collate_fn=bundle.collate)
        tokens, lengths, labels = next(iter(valid))
        with torch.no_grad():
            return (model(tokens, lengths).argmax(1) == labels).float().mean().item()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: threads only contend
    try:
        torch.manual_seed(0)
        bag, lstm = accuracy(Bag()), accuracy(Lstm())
    finally:
        torch.set_num_threads(threads)
    assert bag < 0.7 and lstm > 0.9, (bag, lstm)


def test_the_corpus_stream_takes_the_task_bptt_and_the_run_batch_size(tmp_path):
    (tmp_path / "story.txt").write_text("\n".join(f"the cat number {i} sat on the mat ." for i in range(200)))
    ctx = LoadContext(cache_dir=tmp_path / "cache", batch_size=4, task="language-model", task_params={"bptt": 12})
    bundle = _spec("text.corpus").load(_params("text.corpus", source="file", path=str(tmp_path / "story.txt"),
                                                min_freq=1), ctx)
    window = next(iter(bundle.train))
    assert bundle.batched and not bundle.shuffle
    assert tuple(window[0].shape if isinstance(window, (tuple, list)) else window.shape)[:2] in ((4, 13), (4, 12))
    assert bundle.valid is not None and bundle.info.extra["bptt"] == 12
    with pytest.raises(ValueError, match="choose a folder in 'folder'"):
        _spec("text.corpus").load(_params("text.corpus", source="folder"), ctx)


def test_the_table_form_offers_the_file_columns_and_rejects_others(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("title,body,stars\na,good,5\nb,bad,1\nc,fine,4\nd,poor,2\n")
    params = _params("text.table", path=str(path), text_column="body", label_column="stars")
    bundle = _spec("text.table").load({**params, "valid_fraction": 0.5}, LoadContext(cache_dir=tmp_path))
    assert bundle.info.classes == ("1", "2", "4", "5")
    with pytest.raises(SpecError, match="'rating' is not one of"):
        _params("text.table", path=str(path), label_column="rating")


def test_defaults_are_valid_parameters():
    for spec in dataset_specs():
        if spec.id != "text.table":
            assert check_params("data.params", spec.id, {}, spec.defaults, spec.choices) == param_defaults(
                spec.defaults)
