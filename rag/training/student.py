"""The reader being trained, and one step of its training.

The loss: the marginal likelihood of every gold start and end (any gold answer counts;
a window without the answer has [CLS] as its gold), mixed, when the run distils, with
the KL divergence to the teachers' soft targets over the same positions, run now or
stored (:mod:`rag.training.targets`). Steps run under bf16 autocast with clipped
gradients, AdamW without decay on biases and LayerNorm, and an exponential moving
average of the weights that is validated alongside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from rag.training.config import TrainConfig
from rag.training.data import Feature
from rag.training.targets import dense_targets
from rag.training.teachers import Teacher, ensemble_targets, load_teachers


def marginal_nll(logits: torch.Tensor, gold: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
    """-log of the probability mass on all gold positions (any gold answer counts)."""
    logits = logits.float().masked_fill(attn == 0, float("-inf"))
    gold_mass = torch.logsumexp(logits.masked_fill(~gold, float("-inf")), dim=1)
    return (torch.logsumexp(logits, dim=1) - gold_mass).mean()


def soft_target_kl(
    student: torch.Tensor, target: torch.Tensor, attn: torch.Tensor, temperature: float
) -> torch.Tensor:
    """KL(target || student) over positions: the soft targets of distillation, a teacher's
    distribution over the student's positions (perhaps carried over from another
    vocabulary, rag.training.teachers)."""
    mask = attn == 0
    s_log = torch.log_softmax((student.float() / temperature).masked_fill(mask, float("-inf")), 1)
    target = target.float().masked_fill(mask, 0.0)
    kl = (torch.xlogy(target, target) - target * s_log.masked_fill(mask, 0.0)).sum(dim=1)
    return kl.mean() * temperature**2


class Student:
    """The reader being trained with what trains it: its tokenizer, the moving average of
    its weights, its optimiser and the teachers it distils from. ``load()`` reads them
    once; ``training_step()`` is one optimiser step on a batch."""

    def __init__(self, cfg: TrainConfig, echo: Callable[[str], None] = print) -> None:
        self.cfg = cfg
        self.echo = echo
        self.device_type = torch.device(cfg.device).type
        self.model = None
        self.teachers: list[Teacher] = []
        self.ema = None
        self.optim: torch.optim.Optimizer | None = None
        self.tokenizer = None

    def load(self) -> Student:
        """The student (and its moving average and optimiser) and the teachers, once."""
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        cfg = self.cfg
        self.tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
        self.teachers = load_teachers(cfg, self.tokenizer, self.echo)
        self.model = AutoModelForQuestionAnswering.from_pretrained(
            cfg.init or cfg.base_model, attention_probs_dropout_prob=0.0, dtype=torch.float32
        ).to(cfg.device)
        if cfg.teacher_targets is not None:
            self.echo(f"distilling from the targets in {cfg.teacher_targets}")
        if cfg.ema:
            avg = get_ema_multi_avg_fn(cfg.ema)
            self.ema = AveragedModel(self.model, multi_avg_fn=avg)
        params = list(self.model.named_parameters())
        plain = [p for n, p in params if "LayerNorm" in n or n.endswith("bias")]
        decay = [p for n, p in params if not ("LayerNorm" in n or n.endswith("bias"))]
        self.optim = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": cfg.weight_decay},
                {"params": plain, "weight_decay": 0.0},
            ],
            lr=cfg.lr,
            fused=cfg.device.startswith("cuda"),
        )
        return self

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id or 0

    def restore(self, state: dict) -> None:
        """The weights, moving average and optimiser of a resume state."""
        self.model.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])

    def soft_targets(
        self, batch: dict[str, torch.Tensor], features: Sequence[Feature]
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """What the student is taught besides the gold spans: the teachers' distributions
        over its positions, run now or stored (``--teacher-targets``); None when the run
        distils from nothing. ``features``: the batch's windows."""
        cfg = self.cfg
        if cfg.teacher_targets is not None:
            length = batch["attention_mask"].shape[1]
            start, end = dense_targets([f.targets for f in features], length, cfg.temperature)
            return start.to(cfg.device), end.to(cfg.device)
        if not self.teachers:
            return None
        foreign = any(not t.same_vocab for t in self.teachers)
        windows = [f.teacher for f in features] if foreign else None
        with torch.inference_mode(), torch.autocast(self.device_type, dtype=torch.bfloat16):
            start, end = ensemble_targets(self.teachers, batch, windows, cfg.temperature)
        # out of inference mode: the loss's backward keeps the targets
        return start.clone(), end.clone()

    def compute_loss(
        self, batch: dict[str, torch.Tensor], features: Sequence[Feature] = ()
    ) -> torch.Tensor:
        """Marginal likelihood of the gold spans, mixed with the soft targets of
        distillation (``features``: the batch's windows)."""
        cfg = self.cfg
        gold_s, gold_e = batch.pop("gold_starts"), batch.pop("gold_ends")
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            out = self.model(**batch)
        attn = batch["attention_mask"]
        loss = (
            marginal_nll(out.start_logits, gold_s, attn)
            + marginal_nll(out.end_logits, gold_e, attn)
        ) / 2
        targets = self.soft_targets(batch, features)
        if targets is not None:
            soft = (
                soft_target_kl(out.start_logits, targets[0], attn, cfg.temperature)
                + soft_target_kl(out.end_logits, targets[1], attn, cfg.temperature)
            ) / 2
            loss = (1 - cfg.distill_weight) * loss + cfg.distill_weight * soft
        return loss

    def training_step(
        self, batch: dict[str, torch.Tensor], lr: float, features: Sequence[Feature] = ()
    ) -> torch.Tensor:
        """One optimiser step at learning rate ``lr`` (``features``: the batch's windows,
        for the teachers); the loss."""
        for group in self.optim.param_groups:
            group["lr"] = lr
        batch = {k: v.to(self.cfg.device, non_blocking=True) for k, v in batch.items()}
        self.model.train()
        loss = self.compute_loss(batch, features)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optim.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return loss
