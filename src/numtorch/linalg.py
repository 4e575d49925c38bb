"""``torch.linalg``: norms, decompositions, inverses and solvers.

Every function accepts batches of matrices (leading dimensions), keeps float32 as float32 and is
differentiable twice: the ops live in ``ops/decompositions.py`` (decompositions, solvers) and
``ops/linalg.py`` (products); this module is the public namespace. The gradients of ``eigh``
and ``svd`` assume distinct eigen/singular values, as PyTorch's do.
"""

from .ops.decompositions import (
    LinAlgError,
    cholesky,
    cholesky_ex,
    cross,
    det,
    diagonal,
    eigh,
    eigvalsh,
    inv,
    inv_ex,
    lstsq,
    matmul,
    matrix_exp,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    norm,
    pinv,
    qr,
    return_types,  # noqa: F401  (torch.linalg's result types)
    slogdet,
    solve,
    solve_ex,
    solve_triangular,
    svd,
    svdvals,
    vander,
    vecdot,
    vector_norm,
)

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "det", "slogdet", "inv", "solve",
           "lstsq", "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "matrix_rank",
           "cross", "matrix_power", "multi_dot", "vecdot", "matmul", "solve_triangular", "inv_ex",
           "cholesky_ex", "solve_ex", "matrix_exp", "diagonal", "vander"]
