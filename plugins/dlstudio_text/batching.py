"""From encoded texts to the batches a model eats: padded classification batches and a language model's stream.

Classification: each text is encoded once, up front, into one flat tensor (cheap to hold, to pickle for
loader workers); a batch is ``(tokens LongTensor[B, T], lengths LongTensor[B], labels LongTensor[B])`` padded
with ``<pad>`` to the batch's longest text (variable length: the models pack them, unsorted) or to
``fix_length`` (the book's torchtext ``fix_length``: longer texts truncated). Nothing is sorted.

Language model: the book's ``batchify`` + ``get_batch``: one token stream (``<eos>`` after every line) cut into
``batch_size`` columns and read in windows of ``bptt + 1`` tokens, in order (target = input shifted by one),
so row ``i`` of a window continues row ``i`` of the window before it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch.utils.data import Dataset, IterableDataset

from dlstudio.contract import DataBundle, DataInfo
from dlstudio_text.tokens import Encoder


# -- classification --------------------------------------------------------------------------------------
class EncodedTexts(Dataset):
    """Encoded texts and their labels; item ``i`` is ``(ids LongTensor[n], label int)``.

    ``texts`` keeps the original texts, so a view can show a misclassified one as it was written.
    """

    def __init__(self, ids: Sequence[Sequence[int]], labels: Sequence[int], texts: Sequence[str],
                 fix_length: int = 0) -> None:
        if fix_length > 0:
            ids = [seq[:fix_length] for seq in ids]
        lengths = torch.tensor([len(seq) for seq in ids], dtype=torch.long)
        self.offsets = torch.zeros(len(ids) + 1, dtype=torch.long)
        torch.cumsum(lengths, 0, out=self.offsets[1:])
        self.tokens = torch.tensor([t for seq in ids for t in seq], dtype=torch.long)
        self.labels = torch.as_tensor(list(labels), dtype=torch.long)
        self.texts = list(texts)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        return self.tokens[start:end], int(self.labels[index])

    def lengths(self) -> torch.Tensor:
        """The number of tokens of every text (after ``fix_length``'s truncation)."""
        return self.offsets[1:] - self.offsets[:-1]


class PadCollate:
    """Puts ``(ids, label)`` samples into ``(tokens[B, T], lengths[B], labels[B])``, padded with ``pad_id``.

    ``fix_length > 0``: T is ``fix_length`` (texts already truncated to it); 0: T is the batch's longest. An
    empty text gets length 1 (one padding token): packing refuses empty sequences.
    """

    def __init__(self, pad_id: int, fix_length: int = 0) -> None:
        self.pad_id = pad_id
        self.fix_length = fix_length

    def __call__(self, samples: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lengths = torch.tensor([max(1, len(ids)) for ids, _ in samples], dtype=torch.long)
        width = self.fix_length or (int(lengths.max()) if samples else 0)
        tokens = torch.full((len(samples), width), self.pad_id, dtype=torch.long)
        for row, (ids, _) in enumerate(samples):
            tokens[row, : len(ids)] = ids
        labels = torch.tensor([label for _, label in samples], dtype=torch.long)
        return tokens, lengths, labels


def _check_labels(split: str, pairs: Sequence[tuple[str, int]], classes: Sequence[str]) -> None:
    for i, (_, label) in enumerate(pairs):
        if not isinstance(label, numbers.Integral) or isinstance(label, bool) or not 0 <= label < len(classes):
            raise ValueError(f"{split} text {i + 1}: label {label!r} is not a class index from 0 to "
                             f"{len(classes) - 1} ({', '.join(classes)})")


def _length_note(split: str, dataset: EncodedTexts, fix_length: int) -> str:
    lengths = dataset.lengths().float()
    if not len(lengths):
        return f"{split}: no texts"
    note = (f"{split}: {len(lengths):,} texts, {lengths.mean():.0f} tokens on average (median "
            f"{lengths.median():.0f}, longest {int(lengths.max()):,})")
    if fix_length:
        cut = int((dataset.lengths() >= fix_length).sum())
        note += f"; {cut:,} reach fix_length {fix_length} (longer ones are truncated)"
    return note


def classification_bundle(train: Sequence[tuple[str, int]], valid: Sequence[tuple[str, int]],
                          classes: Sequence[str], encoder: Encoder, *, fix_length: int = 0,
                          messages: list[str] | None = None) -> DataBundle:
    """The bundle of a text-classification dataset: ``(text, class index)`` pairs encoded with ``encoder``.

    Batches are ``(tokens[B, T], lengths[B], labels[B])``; ``fix_length`` > 0 pads/truncates every text to
    it, 0 pads each batch to its longest text.
    """
    if fix_length < 0:
        raise ValueError(f"fix_length must be 0 (variable length) or more, got {fix_length}")
    if len(classes) < 2:
        raise ValueError(f"a classifier needs two classes or more, got {len(classes)}: {list(classes)}")
    if not train:
        raise ValueError("there are no training texts")
    _check_labels("training", train, classes)
    _check_labels("validation", valid, classes)
    messages = [] if messages is None else messages

    def encoded(pairs: Sequence[tuple[str, int]]) -> EncodedTexts:
        texts = [text for text, _ in pairs]
        return EncodedTexts(encoder.encode_batch(texts), [label for _, label in pairs], texts, fix_length)

    train_set = encoded(train)
    valid_set = encoded(valid) if valid else None
    messages.append(_length_note("training", train_set, fix_length))
    empty = int((train_set.lengths() == 0).sum())
    if empty:
        messages.append(f"{empty:,} training text{'s have' if empty != 1 else ' has'} no token; fed as one <pad>")
    if valid_set is not None:
        messages.append(_length_note("validation", valid_set, fix_length))
        unknown = int((valid_set.tokens == encoder.unk_id).sum())
        total = len(valid_set.tokens)
        if total:
            messages.append(f"out of vocabulary: {unknown / total:.1%} of the validation tokens "
                            f"({unknown:,} of {total:,}) are <unk>")
    longest = int(train_set.lengths().max())
    info = DataInfo(
        input_shape=(fix_length or max(1, longest),),
        classes=tuple(classes),
        input_kind="tokens",
        extra={"encoder": encoder.to_json(), "vocab_size": encoder.vocab_size, "pad_id": encoder.pad_id,
               "fix_length": fix_length},
    )
    return DataBundle(train_set, valid_set, info, messages=messages, collate=PadCollate(encoder.pad_id, fix_length))


# -- language model --------------------------------------------------------------------------------------
def encode_stream(text: str, encoder: Encoder) -> torch.Tensor:
    """One token stream: each line's ids followed by ``<eos>`` (empty lines too, as the book's corpus)."""
    lines = text.splitlines()
    ids: list[int] = []
    eos = encoder.eos_id
    for line_ids in encoder.encode_batch(lines):
        ids.extend(line_ids)
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


class WindowStream(IterableDataset):
    """A token sequence cut into (batch, bptt + 1) windows, in order: the book's batchify + get_batch.

    The stream is laid out in ``batch_size`` columns (rows of the view) of ``len // batch_size`` tokens, the
    rest dropped; window ``k`` holds columns ``k·bptt … k·bptt + bptt`` (one token of overlap with the next:
    the last target of one window is the first input of the next).
    """

    def __init__(self, tokens: torch.Tensor, batch_size: int, bptt: int) -> None:
        columns = tokens.numel() // batch_size
        self.data = tokens[: columns * batch_size].view(batch_size, columns)
        self.bptt = bptt

    def __iter__(self):
        for start in range(0, self.data.shape[1] - 1, self.bptt):
            yield self.data[:, start : start + self.bptt + 1]

    def __len__(self) -> int:
        return math.ceil((self.data.shape[1] - 1) / self.bptt) if self.data.shape[1] > 1 else 0


def _stream(split: str, tokens: torch.Tensor, batch_size: int, bptt: int) -> WindowStream:
    if tokens.numel() < 2 * batch_size:
        raise ValueError(f"the {split} text has {tokens.numel():,} tokens: too few for {batch_size} columns "
                         f"(batch size {batch_size} needs at least {2 * batch_size:,}); lower the batch size or "
                         f"give more text")
    return WindowStream(tokens, batch_size, bptt)


def unigram_perplexity(train: torch.Tensor, valid: torch.Tensor, vocab_size: int) -> float:
    """The perplexity on ``valid`` of the unigram model of ``train`` (add-one smoothed): the number a
    language model must beat to have learnt anything about order."""
    counts = torch.bincount(train, minlength=vocab_size).double() + 1.0
    log_p = counts.log() - counts.sum().log()
    return float((-log_p[valid].mean()).exp()) if valid.numel() else float("nan")


def language_model_bundle(train_text: str, valid_text: str, encoder: Encoder, *, batch_size: int, bptt: int,
                          messages: list[str] | None = None) -> DataBundle:
    """The bundle of a language-model corpus: one stream per split in ``(batch_size, bptt + 1)`` windows."""
    if batch_size < 1 or bptt < 1:
        raise ValueError(f"batch size and bptt must be 1 or more, got {batch_size} and {bptt}")
    messages = [] if messages is None else messages
    train_ids = encode_stream(train_text, encoder)
    valid_ids = encode_stream(valid_text, encoder) if valid_text.strip() else torch.zeros(0, dtype=torch.long)
    train_set = _stream("training", train_ids, batch_size, bptt)
    valid_set = _stream("validation", valid_ids, batch_size, bptt) if valid_ids.numel() else None
    messages.append(f"training stream: {train_ids.numel():,} tokens in {batch_size} columns, {len(train_set):,} "
                    f"windows of {bptt}")
    extra = {"encoder": encoder.to_json(), "vocab_size": encoder.vocab_size, "pad_id": encoder.pad_id, "bptt": bptt}
    if valid_set is not None:
        unknown = int((valid_ids == encoder.unk_id).sum())
        baseline = unigram_perplexity(train_ids, valid_ids, encoder.vocab_size)
        extra["unigram_perplexity"] = baseline
        messages.append(f"validation stream: {valid_ids.numel():,} tokens, {len(valid_set):,} windows; "
                        f"{unknown / valid_ids.numel():.1%} <unk>; unigram perplexity {baseline:,.1f} (the "
                        f"baseline to beat)")
    else:
        messages.append("no validation text: perplexity is measured on the training stream only")
    info = DataInfo(input_shape=(bptt,), input_kind="tokens", extra=extra)
    return DataBundle(train_set, valid_set, info, messages=messages, shuffle=False, batched=True)

