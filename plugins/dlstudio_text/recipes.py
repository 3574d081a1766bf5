"""Ready-made text runs: the book's (chapter 6 on IMDB, chapter 7's language model on WikiText-2) with its
numbers beside them, and offline stand-ins on the generated sentiment set and the local corpus that train in a
few minutes on a 2-core CPU."""

from __future__ import annotations

from typing import Any

from dlstudio.contract import RecipeSpec

IMDB_NOTE = (
    "IMDB (aclImdb_v1.tar.gz, 84 MB, from https://ai.stanford.edu/~amaas/data/sentiment/): switch the dataset's "
    "'download' on (needs internet), or put the archive in $DLSTUDIO_HOME/cache/text.folder/ (dlstudio extracts "
    "it there), or set 'root' to a folder holding the extracted aclImdb. Offline, the 'sentiment-…' recipes "
    "train the same models on the generated reviews."
)
GLOVE_NOTE = (
    " GloVe: download glove.6B.zip (822 MB) from https://nlp.stanford.edu/projects/glove/ and unzip "
    "glove.6B.300d.txt to ~/data/glove/ (or set model.params.vectors to where it is)."
)
WIKITEXT_NOTE = (
    "WikiText-2 (wikitext-2-v1.zip, 4 MB): switch the corpus's 'download' on (needs internet), or put the zip "
    "in $DLSTUDIO_HOME/cache/text.corpus/ (dlstudio extracts it there). Offline, 'corpus-lstm-lm' trains the "
    "same model on the Python standard library's docstrings."
)

#: The book's torchtext vocabulary: words, lower-cased, at most 10,000, each seen 10 times or more.
BOOK_VOCAB = {"tokenizer": "words", "lowercase": True, "ngrams": 1, "max_vocab": 10000, "min_freq": 10}
ADAM = {"optimizer": "adam", "lr": 0.001}


def _spec(model: str, model_params: dict[str, Any], data: str, data_params: dict[str, Any], *,
          task: str = "text-classification", task_params: dict[str, Any] | None = None,
          **train: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"run": {"task": task}, "model": {"id": model, "params": model_params},
                            "data": {"id": data, "params": data_params}, "train": train}
    if task_params:
        spec["task"] = {"params": task_params}
    return spec


def _imdb(fix_length: int) -> dict[str, Any]:
    return {**BOOK_VOCAB, "fix_length": fix_length}


def book_recipes() -> list[RecipeSpec]:
    r = RecipeSpec
    return [
        r("book-imdb-embnet", "IMDB bag of embeddings (book ch. 6)", family="text",
          spec=_spec("text.embnet", {"embedding_dim": 10}, "text.folder", _imdb(20), epochs=10, batch_size=128,
                     **ADAM),
          description="EmbNet on IMDB: reviews cut to 20 words (fix_length 20), 10-dimensional embeddings "
                      "flattened into one linear layer; Adam lr 0.001, batch 128, 10 epochs.",
          reported_result="~70 % validation accuracy", data_note=IMDB_NOTE),
        r("book-imdb-glove", "IMDB with frozen GloVe vectors (book ch. 6)", family="text",
          spec=_spec("text.embnet", {"vectors": "~/data/glove/glove.6B.300d.txt", "freeze_embeddings": True},
                     "text.folder", _imdb(20), epochs=10, batch_size=128, **ADAM),
          description="EmbNet whose embedding is GloVe 6B 300d, frozen: only the linear layer trains (the "
                      "optimiser gets the trainable parameters only).",
          reported_result="the book shows the setup without a figure; expect about EmbNet's ~70 %",
          data_note=IMDB_NOTE + GLOVE_NOTE),
        r("book-imdb-lstm", "IMDB LSTM (book ch. 6)", family="text",
          spec=_spec("text.imdb_rnn", {"embedding_dim": 100, "hidden": 100, "layers": 2, "pack": False},
                     "text.folder", _imdb(200), epochs=4, batch_size=32, **ADAM),
          description="IMDBRnn: reviews cut to 200 words, a 2-layer LSTM of 100 units read to the last position "
                      "(as the book: padding included; pack=true reads each review to its end), Adam lr 0.001, "
                      "batch 32, 4 epochs (more overfit).",
          reported_result="84 % validation accuracy after 4 epochs", data_note=IMDB_NOTE),
        r("book-imdb-conv1d", "IMDB Conv1d (book ch. 6)", family="text",
          spec=_spec("text.imdb_cnn", {"embedding_dim": 100, "channels": 100, "kernel_size": 3, "bins": 10},
                     "text.folder", _imdb(200), epochs=4, batch_size=32, **ADAM),
          description="IMDBCnn: reviews cut to 200 words, 100 filters of 3 words, average-pooled to 10, a linear "
                      "layer; Adam lr 0.001, batch 32, 4 epochs (validation loss rises after 3).",
          reported_result="~83 % validation accuracy", data_note=IMDB_NOTE),
        r("book-wikitext2-lm", "WikiText-2 LSTM language model (book ch. 7)", family="text",
          spec=_spec("text.rnn_lm", {"embedding_dim": 200, "hidden": 200, "layers": 2, "dropout": 0.2,
                                     "tie_weights": True},
                     "text.corpus", {"source": "wikitext-2", "max_chars": 0, "tokenizer": "words",
                                     "lowercase": False, "max_vocab": 50000, "min_freq": 1},
                     task="language-model", task_params={"bptt": 35}, epochs=40, batch_size=20,
                     optimizer="sgd", lr=20.0, momentum=0.0, grad_clip=0.25, scheduler="plateau", gamma=0.25,
                     plateau_patience=0),
          description="RNNModel with tied weights on WikiText-2 (case and punctuation kept, <eos> per line): 20 "
                      "columns, BPTT windows of 35, the state carried and detached; plain SGD lr 20, clipped to "
                      "0.25, divided by 4 when validation stops improving; 40 epochs.",
          reported_result="the book reports loss and perplexity per epoch; PyTorch's example it follows reaches "
                          "a validation perplexity of roughly 90 with this setup (~)",
          data_note=WIKITEXT_NOTE),
    ]


def offline_recipes() -> list[RecipeSpec]:
    r = RecipeSpec
    sentiment = {"train_size": 4000, "valid_size": 1000, **BOOK_VOCAB, "min_freq": 1}
    note = " The generated reviews turn on word order (\"not bad\", \"good , but boring\"); no download."
    return [
        r("sentiment-bag", "Generated reviews: bag of embeddings", family="text",
          spec=_spec("text.embnet", {"embedding_dim": 16}, "text.sentiment", {**sentiment, "fix_length": 40},
                     epochs=10, batch_size=64, **ADAM),
          description="The book's EmbNet on the generated reviews (fix_length 40)." + note,
          reported_result="well below the LSTM and the Conv1d: it cannot see that 'not' turns 'good' around"),
        r("sentiment-lstm", "Generated reviews: LSTM", family="text",
          spec=_spec("text.imdb_rnn", {"embedding_dim": 32, "hidden": 64, "layers": 2, "dropout": 0.2},
                     "text.sentiment", {**sentiment, "fix_length": 0}, epochs=8, batch_size=64,
                     optimizer="adam", lr=0.003),
          description="The book's IMDBRnn on the generated reviews, each read to its own length (packed)." + note,
          reported_result="clearly above the bag of embeddings (dlstudio's bench: see bench/bench_text.py)"),
        r("sentiment-conv1d", "Generated reviews: Conv1d", family="text",
          spec=_spec("text.imdb_cnn", {"embedding_dim": 32, "channels": 64, "kernel_size": 5, "bins": 10},
                     "text.sentiment", {**sentiment, "fix_length": 0}, epochs=10, batch_size=64,
                     optimizer="adam", lr=0.01),
          description="The book's IMDBCnn, sliding along the text (filters of 5 words), on the generated "
                      "reviews." + note,
          reported_result="clearly above the bag of embeddings (dlstudio's bench: see bench/bench_text.py)"),
        r("corpus-lstm-lm", "Standard-library docstrings: LSTM language model", family="text",
          spec=_spec("text.rnn_lm", {"embedding_dim": 200, "hidden": 200, "layers": 2, "dropout": 0.2,
                                     "tie_weights": True},
                     "text.corpus", {"source": "python-docs", "tokenizer": "words", "lowercase": True,
                                     "max_vocab": 10000, "min_freq": 2},
                     task="language-model", task_params={"bptt": 35}, epochs=6, batch_size=20,
                     optimizer="sgd", lr=20.0, momentum=0.0, grad_clip=0.25, scheduler="plateau", gamma=0.25,
                     plateau_patience=0),
          description="The book's tied-weight RNNModel and training (SGD lr 20, clip 0.25, lr ÷ 4 on a plateau) "
                      "on a corpus built from the docstrings of this machine's Python standard library; a "
                      "sample is written after each epoch. No download.",
          reported_result="validation perplexity well below the unigram baseline the data log prints"),
    ]


def recipe_specs() -> list[RecipeSpec]:
    return book_recipes() + offline_recipes()
