"""distill.teacher_checkpoint = 'best': the student learns from the teacher's weights at its best validation epoch."""

import pytest
import torch

from engine.config import validate
from engine.errors import ConfigError
from engine.outcomes import Ledger
from engine.records import best_epoch
from engine.trainers import Options
from tests.engine.helpers import tiny_config
from tests.engine.test_batched import jobs_for

NOISY = {"data": {"dataset": "moons", "n_train": 120, "n_val": 200, "n_unlabeled": 300, "noise": 0.35}}
TRAIN = {"epochs": 8, "batch_size": 16, "lr": 0.05}


@pytest.mark.parametrize("together", [True, False])
def test_a_kept_best_checkpoint_labels_the_pool_as_the_teacher_did_at_its_best_epoch(together):
    """Stacked or alone, the pool's labels are those of the same model trained for exactly its best epoch."""
    cfg = tiny_config(train=TRAIN, **NOISY)
    jobs, replays = jobs_for(cfg, seeds=(0,), widths=[4, 16]), jobs_for(cfg, seeds=(0,), widths=[4, 16])
    for job in jobs:
        job.keep_best, job.later = True, job.data.x_pool
    ledger = Ledger(list(range(len(jobs))), {})
    list(ledger.stage(jobs, Options(together=together), lambda: False))
    chosen = []
    for index, (job, replay) in enumerate(zip(jobs, replays, strict=True)):
        curves = ledger.results[index]["teacher"].curves
        epoch, _ = best_epoch(curves["epoch"], curves["val_error"], curves["test_error"])
        assert job.best.epoch == epoch
        replay.learner.train = replay.learner.train.model_copy(update={"epochs": int(epoch)})
        list(replay.learner.fit(replay.x, replay.targets))
        torch.testing.assert_close(job.later_logits, replay.learner.predict_logits(job.later), rtol=1e-4, atol=1e-4)
        chosen.append(epoch)
    assert min(chosen) < TRAIN["epochs"], "some teacher's best epoch comes before its last, so 'best' is tested"


def test_best_checkpoint_needs_a_validation_split():
    raw = tiny_config(distill={"teacher_checkpoint": "best"}).model_dump()
    raw["data"]["n_val"] = 0
    with pytest.raises(ConfigError, match="teacher_checkpoint = 'best'.*data.n_val > 0"):
        validate(raw, "test")
