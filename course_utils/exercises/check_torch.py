"""Checkers of the PyTorch exercises (06). PyTorch is imported inside each checker."""
from __future__ import annotations

import copy

from .checking import Wrong, call, check_array, check_number
from .registry import resolve


def accuracy(fn) -> int:
    import torch

    cases = [
        ("case 1 (the notebook's example: 3 of 4 right)",
         torch.tensor([[2.0, 0.1, 0.3], [0.2, 1.5, 0.1], [0.3, 0.2, 0.9], [1.2, 0.4, 0.1]]),
         torch.tensor([0, 1, 2, 2]), 0.75),
        ("case 2 (all wrong)", torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1]), 0.0),
        ("case 3 (a batch of 3: 1/3 is not a round number)",
         torch.tensor([[5.0, 1.0, 0.0], [0.0, 1.0, 5.0], [1.0, 5.0, 0.0]]), torch.tensor([0, 0, 0]), 1 / 3),
        ("case 4 (10 classes, large logits)",
         torch.eye(10) * 1e4 + torch.arange(10.0), torch.tensor([0, 1, 2, 3, 4, 9, 9, 9, 9, 9]), 0.6),
    ]
    for case, logits, targets, expected in cases:
        got = call(case, fn, logits.clone(), targets.clone())
        check_number(case, got, expected, name="accuracy", rtol=1e-6,
                     variants={"that is a percentage; return a fraction in [0, 1]": 100 * expected})
        if not isinstance(got, float):
            raise Wrong(f"{case}: accuracy is a {type(got).__name__}, expected a Python float (use .item())")
    return len(cases)


def train_step(fn) -> int:
    import torch

    def setup(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])
        return model, opt, x, y

    n = 0
    for case, stale in (("case 1 (fresh model)", False), ("case 2 (gradients left over from an earlier step)", True)):
        model, opt, x, y = setup(n)
        ref_model = copy.deepcopy(model)
        before = [p.detach().clone() for p in model.parameters()]
        ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.1)
        if stale:
            for p, q in zip(model.parameters(), ref_model.parameters()):
                p.grad, q.grad = torch.ones_like(p), torch.ones_like(q)
        model.eval(), ref_model.eval()
        loss_fn = torch.nn.CrossEntropyLoss()
        ref_loss = resolve("torch_train:train_step")(ref_model, x, y, ref_opt, loss_fn)
        got = call(case, fn, model, x, y, opt, loss_fn)
        check_number(case, got, ref_loss, name="returned loss", rtol=1e-9)
        if not isinstance(got, float):
            raise Wrong(f"{case}: the loss returned is a {type(got).__name__}, expected a Python float (loss.item())")
        for (name, p), q, p0 in zip(model.named_parameters(), ref_model.parameters(), before):
            with torch.no_grad():
                hints = {"the weights did not change: optimizer.step() is missing": p0.numpy()}
                if stale:      # the leftover gradient of 1 would move every weight by lr * 1 = 0.1 more
                    hints["optimizer.zero_grad() is missing: old gradients were added to the new ones"] = \
                        (q - 0.1).numpy()
                check_array(case, p.detach().numpy(), q.detach().numpy(), name=f"parameter {name} after the step",
                            rtol=1e-9, atol=1e-12, variants=hints)
        if not model.training:
            raise Wrong(f"{case}: the model is still in eval mode: call model.train() at the start of the step")
        n += 1
    return n
