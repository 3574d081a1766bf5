"""What the text datasets take — parameters with help, ranges and choices — and what they are, without torch:
registering the datasets reads these, and only loading one imports torch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dlstudio.params import Param
from dlstudio_text.tokens import TOKENIZER_PARAMS

TASK_CLASSIFY = "text-classification"
TASK_LM = "language-model"

FIX_LENGTH = Param(
    0, minimum=0, maximum=10_000, unit="tokens", title="Fixed length",
    help="0: each batch is padded to its longest text and recurrent models pack the sequences (faster, and "
         "better). More than 0: every text is padded or cut to this many tokens (the book's fix_length: 20 for "
         "EmbNet, 200 for the LSTM and the Conv1d on IMDB).")
VALID_FRACTION = Param(0.2, minimum=0.0, maximum=0.9, title="Validation fraction",
                       help="Share of the texts held out for validation (stratified by class, seeded).")
SPLIT_SEED = Param(0, minimum=0, maximum=2**31 - 1, title="Split seed",
                   help="Seed of the train/validation split: the same seed gives the same split.")


def classification_tokens() -> dict[str, Param]:
    return {**TOKENIZER_PARAMS, "fix_length": FIX_LENGTH}


# -- the generated sentiment set --------------------------------------------------------------------------------
SENTIMENT_DEFAULTS: dict[str, Any] = {
    "train_size": Param(5000, minimum=10, maximum=1_000_000, unit="reviews", title="Training reviews",
                        help="How many reviews to generate for training (half positive)."),
    "valid_size": Param(1000, minimum=0, maximum=1_000_000, unit="reviews", title="Validation reviews",
                        help="How many reviews to generate for validation; none repeats a training review."),
    "generator_seed": Param(0, minimum=0, maximum=2**31 - 1, title="Generator seed",
                            help="The same seed generates the same reviews."),
    **classification_tokens(),
}

# -- a folder of text files (IMDB) ------------------------------------------------------------------------------
FOLDER_DEFAULTS: dict[str, Any] = {
    "root": Param("", kind="folder", title="Folder",
                  help="A folder with train/<class> and test/<class> sub-folders (the aclImdb layout), or one "
                       "sub-folder of text files per class (split by the validation fraction). Empty: IMDB, in "
                       "dlstudio's cache."),
    "download": Param(False, title="Download IMDB",
                      help="With an empty folder: download the IMDB reviews (84 MB, needs internet) into the cache "
                           "if they are not there yet."),
    "valid_fraction": VALID_FRACTION,
    "split_seed": SPLIT_SEED,
    "limit_train": Param(0, minimum=0, maximum=10_000_000, unit="texts", title="Training texts at most",
                         help="0 reads them all; more keeps a seeded sample of that many (quicker trials)."),
    "limit_valid": Param(0, minimum=0, maximum=10_000_000, unit="texts", title="Validation texts at most",
                         help="0 reads them all; more keeps a seeded sample of that many."),
    **classification_tokens(),
}


# -- a table (CSV/TSV/JSONL) -------------------------------------------------------------------------------------
def _columns(values: dict[str, Any]) -> list[str]:
    from dlstudio_text.data.table import columns

    return columns(values)


TABLE_DEFAULTS: dict[str, Any] = {
    "path": Param("", kind="file", title="Table file",
                  file_filter="Tables (*.csv *.tsv *.tab *.jsonl *.ndjson *.json);;All files (*)",
                  help="A CSV or TSV file with a header row (TSV by its .tsv extension), or JSON Lines (one "
                       "object per line)."),
    "text_column": Param("", choices=_columns, title="Text column",
                         help="The column holding the texts; empty: a column named text, review, sentence… "
                              "else the first."),
    "label_column": Param("", choices=_columns, title="Label column",
                          help="The column holding the classes; empty: a column named label, sentiment, "
                               "class… else the last."),
    "valid_fraction": VALID_FRACTION,
    "split_seed": SPLIT_SEED,
    **classification_tokens(),
}

# -- language-model corpora -------------------------------------------------------------------------------------
CORPUS_SOURCES = ["python-docs", "file", "folder", "wikitext-2"]
LM_TOKENIZER = {
    **TOKENIZER_PARAMS,
    "lowercase": replace(TOKENIZER_PARAMS["lowercase"], default=False),
    "max_vocab": replace(TOKENIZER_PARAMS["max_vocab"], default=10000),
    "min_freq": replace(TOKENIZER_PARAMS["min_freq"], default=2),
}
CORPUS_DEFAULTS: dict[str, Any] = {
    "source": Param("python-docs", choices=CORPUS_SOURCES, title="Corpus",
                    help="python-docs: the docstrings of the Python standard library on this machine (offline, "
                         "real English); file: one .txt file; folder: every .txt file in a folder; wikitext-2: the "
                         "book's corpus (downloaded)."),
    "path": Param("", kind="file", title="Text file", file_filter="Text (*.txt *.tokens);;All files (*)",
                  help="The .txt file, with the source 'file'."),
    "folder": Param("", kind="folder", title="Folder of text files",
                    help="The folder whose .txt files (sub-folders too) make the corpus, with the source 'folder'."),
    "download": Param(False, title="Download WikiText-2",
                      help="With the source wikitext-2: download it (4 MB, needs internet) into the cache if it "
                           "is not there yet."),
    "max_chars": Param(600_000, minimum=0, maximum=2_000_000_000, unit="characters", title="Characters at most",
                       help="Size of the corpus: the python-docs corpus is built up to this size; a file, folder "
                            "or WikiText-2 is cut to it (whole lines). 0: everything."),
    "valid_fraction": Param(0.1, minimum=0.0, maximum=0.9, title="Validation fraction",
                            help="Share of the lines held out for validation (the last ones); WikiText-2 uses its "
                                 "own validation split."),
    **LM_TOKENIZER,
}

SENTIMENT_DESCRIPTION = (
    "Generated movie reviews (offline, deterministic from the seed) where word order decides the label: negation "
    "(\"not bad\"), contrast (\"good, but boring\": the later clause wins), concession (\"although dull, it was "
    "moving\") and intensifiers. Both classes use the same words, so a bag of embeddings scores clearly below an "
    "LSTM or a convolution.")
FOLDER_DESCRIPTION = (
    "Text files in class folders: the IMDB reviews (the book's data, 25,000 + 25,000 reviews; downloaded into the "
    "cache when asked) or your own folder — train/<class> and test/<class>, or <class> folders split "
    "automatically. UTF-8, else Windows-1252/Latin-1; empty and binary files are skipped and listed.")
TABLE_DESCRIPTION = (
    "Labelled texts in a CSV, TSV or JSON Lines file: choose the text column and the label column. Bad rows "
    "(missing label, empty text, unterminated quote, broken JSON) are skipped and listed with their line numbers.")
CORPUS_DESCRIPTION = (
    "Running text for a language model: the docstrings of the Python standard library on this machine (offline, "
    "about 600k characters of real English), a .txt file, a folder of them, or WikiText-2 (the book's, "
    "downloaded). Cut into one token stream with <eos> after each line.")
