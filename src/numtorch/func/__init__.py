"""``numtorch.func``: composable function transforms (``torch.func``).

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian`` differentiate
Python functions of tensors; ``vmap`` maps a function over a batch dimension;
``functional_call`` runs a module with given parameters and buffers. They compose:
``vmap(grad(f))`` gives per-sample gradients, ``jacfwd(jacrev(f))`` a Hessian.
"""

from ._eager import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from ._functional_call import functional_call, stack_module_state
from ._vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call", "stack_module_state"]
