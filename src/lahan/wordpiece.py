"""A WordPiece vocabulary learned deterministically: same texts and size, same vocabulary.

``tokenizers``' WordPieceTrainer (BPE merges with a ``##`` continuation prefix) breaks
ties between equally frequent pairs by internal ids that come from hash-map iteration
order, which changes from process to process: two trainings on the same texts give
different vocabularies (MahaNews, 8,000 pieces: a few hundred tokens differ), so a
from-scratch run could not be reproduced from its seed. This is the same algorithm with
every tie broken by the text of the merged piece. Words are split exactly as
``tokenizers`` splits them (its BertNormalizer and BertPreTokenizer), and the result is
used through ``tokenizers``' own WordPiece model.

Merges update only the words that hold the merged pair, with a lazy heap of pair
counts, so the 72k-text Marathi corpus trains a 16k vocabulary in well under a minute.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise

from tokenizers import normalizers, pre_tokenizers

PREFIX = "##"


def bert_normalizer() -> normalizers.Normalizer:
    """Cased; no accent stripping: that would delete Devanagari vowel signs and the virama."""
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )


def word_counts(texts: Iterable[str]) -> Counter:
    normalizer, pre = bert_normalizer(), pre_tokenizers.BertPreTokenizer()
    counts: Counter = Counter()
    for text in texts:
        counts.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    return counts


def _join(a: str, b: str) -> str:
    return a + b[len(PREFIX) :]


def learn_vocab(texts: Iterable[str], vocab_size: int, special: list[str]) -> list[str]:
    """Special tokens, then the alphabet (by frequency, then text), then merged pieces in
    merge order, until ``vocab_size`` pieces (fewer when the texts run out of pairs)."""
    counts = word_counts(texts)
    words = sorted(counts)  # a fixed order: nothing below depends on hashing
    freq = [counts[w] for w in words]
    pieces = [[w[0], *(PREFIX + c for c in w[1:])] for w in words]

    alphabet: Counter = Counter()
    for symbols, f in zip(pieces, freq, strict=True):
        for s in symbols:
            alphabet[s] += f
    vocab = list(special)
    known = set(vocab)
    for s in sorted(alphabet, key=lambda s: (-alphabet[s], s)):
        if s not in known:
            vocab.append(s)
            known.add(s)

    pair_count: Counter = Counter()
    where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for i, (symbols, f) in enumerate(zip(pieces, freq, strict=True)):
        for pair in pairwise(symbols):
            pair_count[pair] += f
            where[pair].add(i)
    # Max-heap on (count, then the merged text): ties are broken by text, not by hashing.
    heap = [(-c, _join(*p), p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    while len(vocab) < vocab_size and heap:
        negative, merged, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negative or -negative <= 0:
            continue  # stale entry: the count moved since it was pushed
        if merged not in known:
            vocab.append(merged)
            known.add(merged)
        changed: set[tuple[str, str]] = set()
        for i in sorted(where.pop(pair, ())):
            symbols, f = pieces[i], freq[i]
            for old in pairwise(symbols):
                pair_count[old] -= f
                changed.add(old)
            out, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and (symbols[k], symbols[k + 1]) == pair:
                    out.append(merged)
                    k += 2
                else:
                    out.append(symbols[k])
                    k += 1
            pieces[i] = out
            for new in pairwise(out):
                pair_count[new] += f
                where[new].add(i)
                changed.add(new)
        for p in sorted(changed):
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, _join(*p), p))
            else:
                pair_count.pop(p, None)
    return vocab
