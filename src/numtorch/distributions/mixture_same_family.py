"""``MixtureSameFamily``: a mixture whose components all come from one distribution family."""

from .._size import Size
from ..ops import reduction as red
from . import constraints
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """A mixture with weights from ``mixture_distribution`` (a ``Categorical`` over the
    rightmost batch dimension of ``component_distribution``).

    Example (a 1-D Gaussian mixture with 5 equally weighted components)::

        >>> mix = Categorical(torch.ones(5))
        >>> comp = Normal(torch.randn(5), torch.rand(5))
        >>> gmm = MixtureSameFamily(mix, comp)
    """

    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of "
                             "torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of "
                             "torch.distributions.Distribution")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        mdbs = mixture_distribution.batch_shape
        cdbs = component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not "
                                 f"compatible with `component_distribution.batch_shape`({cdbs})")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args=validate_args)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @constraints.dependent_property
    def support(self):
        return self._component_distribution.support

    def _pad_weights(self, probs):
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        probs = self._pad_weights(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        probs = self._pad_weights(self._mixture_distribution.probs)
        dim = -1 - self._event_ndims
        comp = self._component_distribution
        mean_cond_var = (probs * comp.variance).sum(dim)
        centred = comp.mean - self._pad(self.mean)
        var_cond_mean = (probs * centred.pow(2)).sum(dim)
        return mean_cond_var + var_cond_mean

    def _pad(self, x):
        return x.unsqueeze(-1 - self._event_ndims)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))
        log_mix = red.log_softmax(self._mixture_distribution.logits, -1)
        return red.logsumexp(log_prob_x + log_mix, -1)

    def cdf(self, x):
        cdf_x = self._component_distribution.cdf(self._pad(x))
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def sample(self, sample_shape=Size()):
        sample_shape = Size(sample_shape)
        mix_sample = self._mixture_distribution.sample(sample_shape)
        comp_samples = self._component_distribution.sample(sample_shape)
        gather_dim = len(sample_shape) + len(self._batch_shape)
        idx = mix_sample.reshape(tuple(mix_sample.shape) + (1,) * (self._event_ndims + 1))
        idx = idx.expand(tuple(mix_sample.shape) + (1,) + tuple(self._event_shape))
        return comp_samples.gather(gather_dim, idx).squeeze(gather_dim)

    def __repr__(self):
        return (f"{type(self).__name__}(\n  {self._mixture_distribution},\n  "
                f"{self._component_distribution})")
