"""AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay."""

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""Implements the AdamW algorithm: Adam where the weight decay shrinks the parameters
    directly (:math:`\theta \leftarrow \theta(1 - \gamma\lambda)`) instead of being added to
    the gradient, so it does not accumulate in the moment estimates.

    Args:
        params (iterable): iterable of parameters or named parameters to optimize, or dicts
            defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running averages
            of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay coefficient (default: 1e-2)
        amsgrad (bool, optional): whether to use the AMSGrad variant (default: False)
        maximize (bool, optional): maximize the objective instead of minimizing it
            (default: False)
        foreach, capturable, differentiable, fused: accepted for compatibility.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
