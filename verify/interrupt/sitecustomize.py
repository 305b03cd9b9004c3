"""A spot interruption for verify/train_check.py: on a training job's PYTHONPATH, with
GT2YOLO_VERIFY_INTERRUPT_AFTER_EPOCH=<n> in its environment, the job's process is killed
(SIGKILL, as an instance taken back) right after Ultralytics saved the checkpoint of epoch n,
leaving the resumable last.pt a restarted job finds. Python imports this module at start-up
(`site`); without the variable it does nothing."""

import os
import signal

AFTER_EPOCH = int(os.environ.get("GT2YOLO_VERIFY_INTERRUPT_AFTER_EPOCH") or 0)

if AFTER_EPOCH:
    from ultralytics.engine.trainer import BaseTrainer

    _save_model = BaseTrainer.save_model

    def _save_then_die(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        _save_model(self, *args, **kwargs)
        if self.epoch + 1 >= AFTER_EPOCH:  # self.epoch counts from 0
            print(f"gt2yolo-verify: interrupted after epoch {self.epoch + 1}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    BaseTrainer.save_model = _save_then_die
