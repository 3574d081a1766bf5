"""Generation: a seed gives the same text, top-k keeps to the k likeliest tokens, temperature and prompts are
checked, and the incremental (stateful) path writes what reading the whole text again would."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlstudio_text.generate import generate
from dlstudio_text.models.lm import RNNModel, TransformerLM


class StubEncoder:
    """Just what generation uses of an Encoder: words split at spaces, <pad>=0, <unk>=1, <eos>=2."""

    pad_id, unk_id, eos_id = 0, 1, 2

    def __init__(self, words: list[str]) -> None:
        self.itos = ["<pad>", "<unk>", "<eos>", *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(w, self.unk_id) for w in text.lower().split()]

    def decode(self, ids) -> str:
        return " ".join(self.itos[i] for i in ids if i != self.pad_id)


WORDS = [f"w{i}" for i in range(27)]
ENCODER = StubEncoder(WORDS)
V = ENCODER.vocab_size


class BigramTable(nn.Module):
    """A language model whose next-token logits are a fixed row per previous token: the test can tell which
    tokens were the k likeliest at each step."""

    stateful = True

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(V, V, generator=torch.Generator().manual_seed(3)) * 3)

    def forward(self, tokens, state=None):
        return self.table[tokens], state




@pytest.fixture
def text_studio(make_studio):
    import dlstudio_text.plugin

    return make_studio(("text", dlstudio_text.plugin))


def rnn() -> RNNModel:
    torch.manual_seed(1)
    return RNNModel(V, 16, 16, 2, dropout=0.5, tie_weights=True).train()  # train mode: generation must eval


def test_a_seed_writes_the_same_text_and_leaves_the_global_random_state_alone():
    model = rnn()
    state = torch.get_rng_state()
    a = generate(model, ENCODER, "w3 w4", length=20, temperature=1.0, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert a == generate(model, ENCODER, "w3 w4", length=20, temperature=1.0, seed=7)
    others = {generate(model, ENCODER, "w3 w4", length=20, temperature=1.0, seed=s) for s in range(5)}
    assert len(others) > 1  # a different seed writes something else
    assert len(a.split()) == 20 and model.training  # the model's mode is given back


def test_top_k_keeps_to_the_k_likeliest_tokens_at_each_step():
    model = BigramTable()
    text = generate(model, ENCODER, "w5", length=60, temperature=2.0, top_k=3, seed=0)
    previous = ENCODER.stoi["w5"]
    for word in text.split():
        token = ENCODER.stoi[word]
        row = model.table[previous].detach().clone()
        row[ENCODER.pad_id] = -float("inf")  # padding is never written
        assert token in torch.topk(row, 3).indices.tolist()
        previous = token


def test_top_k_one_is_the_greedy_choice():
    model = rnn().eval()
    tokens = [ENCODER.stoi["w9"]]
    with torch.no_grad():  # the reference: read the whole text again at every step, take the argmax
        for _ in range(12):
            logits, _ = model(torch.tensor([tokens]), None)
            row = logits[0, -1].clone()
            row[ENCODER.pad_id] = -float("inf")
            tokens.append(int(row.argmax()))
    expected = ENCODER.decode(tokens[1:])
    assert generate(model, ENCODER, "w9", length=12, top_k=1, seed=None) == expected
    assert generate(model, ENCODER, "w9", length=12, top_k=1, temperature=5.0, seed=3) == expected


def test_a_transformer_reads_its_last_context_tokens():
    torch.manual_seed(0)
    model = TransformerLM(V, 16, 2, 1, 32, 0.0, context=4).eval()
    tokens = [ENCODER.stoi[w] for w in ("w1", "w2", "w3")]
    with torch.no_grad():
        for _ in range(8):
            logits, _ = model(torch.tensor([tokens[-4:]]), None)
            row = logits[0, -1].clone()
            row[0] = -float("inf")
            tokens.append(int(row.argmax()))
    assert generate(model, ENCODER, "w1 w2 w3", length=8, top_k=1) == ENCODER.decode(tokens[3:])


def test_an_empty_prompt_starts_a_line_and_unknown_prompts_are_refused():
    model = rnn()
    assert len(generate(model, ENCODER, "", length=5, seed=0).split()) == 5
    with pytest.raises(ValueError, match=r"the prompt 'zebra quagga' holds no token the model knows .*'w0'"):
        generate(model, ENCODER, "zebra quagga", length=5)
    assert generate(model, ENCODER, "zebra w4", length=3, seed=0)  # one known word is enough


@pytest.mark.parametrize("kwargs,message", [
    ({"temperature": 0.0}, "temperature must be above 0, got 0.0"),
    ({"temperature": -1.0}, "temperature must be above 0"),
    ({"temperature": float("nan")}, "temperature must be above 0"),
    ({"top_k": -2}, "top_k must be 0"),
    ({"length": 0}, "length must be 1 or more"),
])
def test_bad_settings_are_refused_with_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(rnn(), ENCODER, "w1", **{"length": 5, **kwargs})


# -- a finished run: generate_from_run and `dlstudio text generate` ------------------------------------------------
def run_cli(studio, *argv: str) -> int:
    from dlstudio.cli import build_parser

    args = build_parser(studio).parse_args(["text", *argv])
    return args.handler(args, studio)


def test_a_finished_run_writes_from_the_cli_with_its_own_encoder(text_studio, one_thread, tmp_path, capsys):
    from dlstudio import runs
    from dlstudio.errors import USER_ERRORS
    from dlstudio_text.generate import generate_from_run
    from dlstudio_text.tokens import Encoder
    from tests.plugins.text.test_tasks import epochs_of, lm_corpus, lm_overrides, run_recipe

    records = run_recipe(text_studio, "corpus-lstm-lm", *lm_overrides(lm_corpus(tmp_path / "tiny.txt")),
                         "train.epochs=1")
    epochs_of(records)
    run_id = next(r.run_id for r in records if hasattr(r, "run_id"))
    text = generate_from_run(text_studio, run_id, "the cat", length=8, top_k=1)
    loaded = runs.load_model(text_studio, run_id, "best")  # the reference: the run's model and encoder by hand
    encoder = Encoder.from_json(loaded.data.extra["encoder"])
    assert text == generate(loaded.model, encoder, "the cat", length=8, top_k=1)
    assert len(encoder.encode(text)) >= 8

    assert run_cli(text_studio, "generate", run_id, "--prompt", "the cat", "--length", "8", "--top-k", "1") == 0
    assert capsys.readouterr().out.strip() == f"the cat {text}"
    assert run_cli(text_studio, "generate", run_id, "--length", "5", "--seed", "4", "--temperature", "0.7") == 0
    first = capsys.readouterr().out
    run_cli(text_studio, "generate", run_id, "--length", "5", "--seed", "4", "--temperature", "0.7")
    assert capsys.readouterr().out == first

    for argv, message in [((run_id, "--prompt", "zebra quagga"), "holds no token the model knows"),
                          ((run_id, "--temperature", "0"), "temperature must be above 0"),
                          (("no-such-run",), "no-such-run")]:
        with pytest.raises(USER_ERRORS, match=message):  # printed as "dlstudio: message", exit status 2
            run_cli(text_studio, "generate", *argv)


def test_generating_with_a_classification_run_is_refused(text_studio, one_thread):
    from dlstudio.errors import RunError
    from dlstudio_text.generate import generate_from_run
    from tests.plugins.text.test_tasks import run_recipe

    records = run_recipe(text_studio, "sentiment-bag", "data.params.train_size=40", "data.params.valid_size=10",
                         "train.epochs=1")
    run_id = next(r.run_id for r in records if hasattr(r, "run_id"))
    with pytest.raises(RunError, match="trained a 'text-classification' task: generating text needs a "
                                       "'language-model' run"):
        generate_from_run(text_studio, run_id, "good", length=3)
