"""``torch.distributions``: parameterisable probability distributions and sampling.

Every ``log_prob``, ``entropy``, ``rsample`` and ``kl_divergence`` is composed from
differentiable numtorch ops, so gradients flow to the parameters. Sampling draws from
numtorch's default generator: ``numtorch.manual_seed`` makes it reproducible.
"""

from . import constraints, transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .transformed_distribution import LogNormal, TransformedDistribution
from .transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    SigmoidTransform,
    TanhTransform,
    Transform,
)
from .uniform import Uniform

__all__ = ["AffineTransform", "ComposeTransform", "ExpTransform", "LogNormal",
           "SigmoidTransform", "TanhTransform", "Transform", "TransformedDistribution",
           "transforms", "Bernoulli", "Binomial", "Cauchy", "Geometric", "MixtureSameFamily",
           "Poisson", "Beta", "Categorical", "Dirichlet", "Distribution",
           "ExponentialFamily", "Exponential", "Gamma", "Independent", "Laplace",
           "MultivariateNormal", "Normal", "OneHotCategorical", "Uniform", "constraints",
           "kl_divergence", "register_kl"]
