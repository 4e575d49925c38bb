"""numtorch's generators give PyTorch's random numbers: the same seed, the same draws, the same
generator state afterwards (oracle: torch's CPU generator)."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

SEEDS = [0, 1234, 67280421310721, 2**40 + 3]
DTYPES = [("float32", 0.0), ("float64", 0.0), ("float16", 1e-2), ("bfloat16", 2e-2)]


def _pair(seed):
    return numtorch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


def _same_state(ng, tg):
    return np.array_equal(ng.get_state().numpy(), tg.get_state().numpy())


def _values(t):
    t = t.detach()
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return np.asarray(t.numpy(), dtype=np.float64)


def _check(ours, theirs, ng, tg, tol=0.0):
    a, b = _values(ours), _values(theirs)
    assert a.shape == b.shape
    if tol:
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(a, b)
    assert _same_state(ng, tg)


@pytest.mark.parametrize("seed", SEEDS)
def test_state_after_seeding_is_torchs(seed):
    ng, tg = _pair(seed)
    assert ng.get_state().dtype == numtorch.uint8 and ng.get_state().shape == (5056,)
    assert _same_state(ng, tg)
    assert ng.initial_seed() == tg.initial_seed()


def test_default_generator_starts_as_torchs():
    assert numtorch.Generator().initial_seed() == torch.Generator().initial_seed()
    assert _same_state(numtorch.Generator(), torch.Generator())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_rand_and_uniform(seed, dtype, tol):
    ng, tg = _pair(seed)
    nd, td = getattr(numtorch, dtype), getattr(torch, dtype)
    _check(numtorch.rand(3, 7, dtype=nd, generator=ng), torch.rand(3, 7, dtype=td, generator=tg),
           ng, tg)
    _check(numtorch.empty(37, dtype=nd).uniform_(-2.5, 3.0, generator=ng),
           torch.empty(37, dtype=td).uniform_(-2.5, 3.0, generator=tg), ng, tg)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [1, 3, 15, 16, 17, 37, 100])
@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_randn_and_normal(seed, n, dtype, tol):
    # float32 fills of 16 and more: PyTorch's vectorised log/sin/cos differ from any other
    # implementation in the last bit or two
    tol = tol or (2e-6 if dtype == "float32" and n >= 16 else 1e-13)
    ng, tg = _pair(seed)
    nd, td = getattr(numtorch, dtype), getattr(torch, dtype)
    _check(numtorch.randn(n, dtype=nd, generator=ng), torch.randn(n, dtype=td, generator=tg),
           ng, tg, tol)
    # twice: an odd count keeps a cached sample for the next small draw
    _check(numtorch.randn(n, dtype=nd, generator=ng), torch.randn(n, dtype=td, generator=tg),
           ng, tg, tol)
    _check(numtorch.empty(n, dtype=nd).normal_(0.5, 2.0, generator=ng),
           torch.empty(n, dtype=td).normal_(0.5, 2.0, generator=tg), ng, tg, tol)


def test_strided_tensors_are_filled_in_memory_order():
    ng, tg = _pair(7)
    for fill in (lambda t, g: t.normal_(generator=g), lambda t, g: t.uniform_(generator=g),
                 lambda t, g: t.random_(100, generator=g), lambda t, g: t.bernoulli_(generator=g)):
        ours, theirs = numtorch.zeros(8, 6).t(), torch.zeros(8, 6).t()
        fill(ours, ng)
        fill(theirs, tg)
        _check(ours.contiguous(), theirs.contiguous(), ng, tg, 1e-13)
        ours, theirs = numtorch.zeros(8, 6)[:, ::2], torch.zeros(8, 6)[:, ::2]
        fill(ours, ng)
        fill(theirs, tg)
        _check(ours.contiguous(), theirs.contiguous(), ng, tg, 1e-13)


def test_normal_with_tensor_arguments():
    ng, tg = _pair(3)
    mean = np.linspace(-1, 1, 20).astype(np.float32)
    std = np.linspace(0.1, 2, 20).astype(np.float32)
    _check(numtorch.normal(numtorch.tensor(mean), numtorch.tensor(std), generator=ng),
           torch.normal(torch.tensor(mean), torch.tensor(std), generator=tg), ng, tg, 1e-6)
    _check(numtorch.normal(numtorch.tensor(mean), 0.5, generator=ng),
           torch.normal(torch.tensor(mean), 0.5, generator=tg), ng, tg, 1e-6)
    _check(numtorch.normal(2.0, 3.0, (5, 4), generator=ng),
           torch.normal(2.0, 3.0, (5, 4), generator=tg), ng, tg, 1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_integers(seed):
    ng, tg = _pair(seed)
    _check(numtorch.randint(-3, 1000, (50,), generator=ng),
           torch.randint(-3, 1000, (50,), generator=tg), ng, tg)
    _check(numtorch.randint(0, 2**40, (9,), generator=ng),
           torch.randint(0, 2**40, (9,), generator=tg), ng, tg)
    _check(numtorch.randint(10, (4, 3), dtype=numtorch.float32, generator=ng),
           torch.randint(10, (4, 3), dtype=torch.float32, generator=tg), ng, tg)
    for name in ("int64", "int32", "int16", "uint8", "bool", "float32", "float64", "float16"):
        _check(numtorch.empty(20, dtype=getattr(numtorch, name)).random_(generator=ng),
               torch.empty(20, dtype=getattr(torch, name)).random_(generator=tg), ng, tg)
    _check(numtorch.empty(20, dtype=numtorch.int64).random_(7, generator=ng),
           torch.empty(20, dtype=torch.int64).random_(7, generator=tg), ng, tg)
    _check(numtorch.empty(20).random_(-5, 7, generator=ng),
           torch.empty(20).random_(-5, 7, generator=tg), ng, tg)


@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000, 60000])
def test_randperm(n):
    ng, tg = _pair(n + 11)
    _check(numtorch.randperm(n, generator=ng), torch.randperm(n, generator=tg), ng, tg)


def test_bernoulli_and_exponential():
    ng, tg = _pair(5)
    _check(numtorch.empty(77).bernoulli_(0.3, generator=ng),
           torch.empty(77).bernoulli_(0.3, generator=tg), ng, tg)
    p = np.random.default_rng(0).random((5, 7))
    for dtype in (np.float32, np.float64):
        _check(numtorch.bernoulli(numtorch.tensor(p.astype(dtype)), generator=ng),
               torch.bernoulli(torch.tensor(p.astype(dtype)), generator=tg), ng, tg)
    row = p[0].astype(np.float32)
    _check(numtorch.empty(3, 7).bernoulli_(numtorch.tensor(row), generator=ng),
           torch.empty(3, 7).bernoulli_(torch.tensor(row), generator=tg), ng, tg)
    _check(numtorch.empty(30).exponential_(2.0, generator=ng),
           torch.empty(30).exponential_(2.0, generator=tg), ng, tg, 1e-7)


def test_state_round_trips_with_torch():
    ng, tg = _pair(99)
    numtorch.randn(3, generator=ng)  # leaves a cached normal in the state
    tg.set_state(torch.from_numpy(ng.get_state().numpy()))
    other = numtorch.Generator().set_state(numtorch.from_numpy(tg.get_state().numpy()))
    _check(numtorch.randn(5, generator=other), torch.randn(5, generator=tg), other, tg, 1e-13)
    numtorch.manual_seed(4)
    state = numtorch.get_rng_state()
    first = numtorch.rand(6)
    numtorch.set_rng_state(state)
    assert numtorch.equal(numtorch.rand(6), first)


def test_errors_are_torchs():
    cases = [
        (lambda t: t.rand(2, dtype=t.int64), NotImplementedError,
         "\"check_uniform_bounds\" not implemented for 'Long'"),
        (lambda t: t.randn(2, dtype=t.int64), NotImplementedError,
         "\"normal_kernel_cpu\" not implemented for 'Long'"),
        (lambda t: t.empty(3).uniform_(2, 1), RuntimeError,
         "uniform_ expects to return a [from, to) range, but found from=2 > to=1"),
        (lambda t: t.empty(3).normal_(0, -1), RuntimeError,
         "normal expects std >= 0.0, but found std -1"),
        (lambda t: t.empty(3).bernoulli_(1.5), RuntimeError,
         "bernoulli_ expects p to be in [0, 1], but got p=1.5"),
        (lambda t: t.empty(3).random_(5, 2), RuntimeError,
         "random_ expects 'from' to be less than 'to', but got from=5 >= to=2"),
        (lambda t: t.randperm(-1), RuntimeError,
         "Trying to create tensor with negative dimension -1: [-1]"),
        (lambda t: t.Generator().set_state(t.zeros(10, dtype=t.uint8)), RuntimeError,
         "Expected a CPUGeneratorImplState of size 5056 but found the input RNG state size "
         "to be 10"),
        (lambda t: t.Generator().set_state(t.zeros(5056)), TypeError,
         "RNG state must be a torch.ByteTensor"),
    ]
    for fn, error, message in cases:
        with pytest.raises(error) as theirs:
            fn(torch)
        with pytest.raises(error) as ours:
            fn(numtorch)
        assert str(ours.value) == str(theirs.value) == message


def _models(lib):
    nn = lib.nn
    return [nn.Linear(30, 20), nn.Conv2d(3, 8, 5), nn.LSTM(10, 20, 2), nn.GRU(7, 9),
            nn.Embedding(100, 16), nn.TransformerEncoderLayer(32, 4), nn.BatchNorm2d(4),
            nn.ConvTranspose2d(4, 3, 3), nn.MultiheadAttention(16, 2)]


def test_modules_start_from_torchs_weights():
    numtorch.manual_seed(0)
    torch.manual_seed(0)
    for ours, theirs in zip(_models(numtorch), _models(torch)):
        for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            # (float32 normals of 16 and more: a few units in the last place)
            np.testing.assert_allclose(_values(a), _values(b), rtol=2e-6, atol=2e-7,
                                       err_msg=f"{ours}: {name}")
    assert numtorch.rand(1).item() == torch.rand(1).item()


@pytest.mark.parametrize("init, args", [
    ("uniform_", (-1.0, 2.0)), ("normal_", (0.5, 2.0)), ("xavier_uniform_", ()),
    ("xavier_normal_", ()), ("kaiming_uniform_", ()), ("kaiming_normal_", ()),
    ("trunc_normal_", ()), ("trunc_normal_", (0.0, 0.02, -0.04, 0.04)),
    ("trunc_normal_", (0.0, 1.0, 1.5, 3.0)), ("orthogonal_", ()), ("sparse_", (0.4,))])
@pytest.mark.parametrize("shape", [(30, 20), (7, 3)])
def test_init_functions(init, args, shape):
    numtorch.manual_seed(4)
    torch.manual_seed(4)
    ours, theirs = numtorch.empty(shape), torch.empty(shape)
    getattr(numtorch.nn.init, init)(ours, *args)
    getattr(torch.nn.init, init)(theirs, *args)
    # normals of 16 or more and QR in float32: a few units in the last place
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6, atol=2e-7)
    assert numtorch.rand(1).item() == torch.rand(1).item()


def test_dataloader_shuffles_in_torchs_order():
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import RandomSampler as TorchSampler
    from torch.utils.data import TensorDataset as TorchDataset
    from torch.utils.data import random_split as torch_split

    from numtorch.utils.data import DataLoader, RandomSampler, TensorDataset, random_split

    x = np.arange(100, dtype=np.float32)
    numtorch.manual_seed(0)
    torch.manual_seed(0)
    ours = DataLoader(TensorDataset(numtorch.from_numpy(x)), batch_size=16, shuffle=True)
    theirs = TorchLoader(TorchDataset(torch.from_numpy(x)), batch_size=16, shuffle=True)
    for _ in range(2):
        assert [b[0].tolist() for b in ours] == [b[0].tolist() for b in theirs]
    assert (list(RandomSampler(range(50), replacement=True, num_samples=70))
            == list(TorchSampler(range(50), replacement=True, num_samples=70)))
    ng, tg = _pair(3)
    assert ([list(s) for s in random_split(range(20), [5, 15], generator=ng)]
            == [list(s) for s in torch_split(range(20), [5, 15], generator=tg)])
    assert numtorch.rand(1).item() == torch.rand(1).item()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rrelu_draws_for_the_non_positive_elements(dtype):
    x = np.random.default_rng(0).standard_normal((40, 50)).astype(dtype)
    numtorch.manual_seed(0)
    torch.manual_seed(0)
    ours = numtorch.nn.functional.rrelu(numtorch.from_numpy(x), training=True)
    theirs = torch.nn.functional.rrelu(torch.from_numpy(x), training=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert numtorch.rand(1).item() == torch.rand(1).item()


def test_distributions_sample_as_torch():
    numtorch.manual_seed(2)
    torch.manual_seed(2)
    loc, scale = np.linspace(-1, 1, 12).astype(np.float32), np.full(12, 0.5, np.float32)
    probs = np.random.default_rng(0).random((4, 6)).astype(np.float32)

    def pairs(lib):
        t = lib.tensor
        return [lib.distributions.Normal(t(loc), t(scale)),
                lib.distributions.Uniform(t(loc), t(loc + 1)),
                lib.distributions.Exponential(t(scale)),
                lib.distributions.Bernoulli(t(probs)),
                lib.distributions.Categorical(t(probs))]

    for ours, theirs in zip(pairs(numtorch), pairs(torch)):
        for shape in ((), (3,), (2, 5)):
            np.testing.assert_allclose(ours.sample(shape).numpy(), theirs.sample(shape).numpy(),
                                       rtol=1e-6, atol=1e-6)
    assert numtorch.rand(1).item() == torch.rand(1).item()


def test_fork_rng_restores_the_default_generator():
    numtorch.manual_seed(6)
    torch.manual_seed(6)
    with numtorch.random.fork_rng(), torch.random.fork_rng():
        assert numtorch.rand(4).tolist() == torch.rand(4).tolist()
    assert numtorch.rand(4).tolist() == torch.rand(4).tolist()
    with numtorch.random.fork_rng(enabled=False):
        numtorch.rand(1)
    torch.rand(1)
    assert _same_state(numtorch.default_generator, torch.default_generator)


def _train(lib, steps=12):
    """A seeded LeNet-5 run as a PyTorch program writes it: initial weights, shuffled loader,
    SGD with momentum; returns the losses."""
    from numtorch.datasets.mnist import _read_embedded  # the package's digits, as arrays
    x = _read_embedded("mnist-10k-images-idx3-ubyte.gz")[:96].astype(np.float32) / 255.0
    y = _read_embedded("mnist-10k-labels-idx1-ubyte.gz")[:96].astype(np.int64)
    lib.manual_seed(0)
    nn, F = lib.nn, lib.nn.functional
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                        nn.Linear(84, 10))
    data = lib.utils.data.TensorDataset(lib.from_numpy(x[:, None]), lib.from_numpy(y))
    loader = lib.utils.data.DataLoader(data, batch_size=32, shuffle=True)
    opt = lib.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    while len(losses) < steps:
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def test_a_seeded_training_run_gives_torchs_losses():
    ours, theirs = _train(numtorch), _train(torch)
    # the same weights and batches: only float32 rounding (different summation orders) differs
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(10,), (3, 50)])
@pytest.mark.parametrize("n, replacement", [(1, False), (1, True), (5, False), (7, True),
                                            (200, True)])
def test_multinomial(dtype, shape, n, replacement):
    p = np.random.default_rng(0).random(shape).astype(dtype)
    p[..., 2] = 0
    if not replacement and n > shape[-1]:
        pytest.skip("more samples than categories")
    ng, tg = _pair(1)
    _check(numtorch.multinomial(numtorch.from_numpy(p), n, replacement, generator=ng),
           torch.multinomial(torch.from_numpy(p), n, replacement, generator=tg), ng, tg)


def test_multinomial_errors_and_weighted_sampler():
    cases = [lambda t: t.multinomial(t.tensor([1, 2]), 1),
             lambda t: t.multinomial(t.tensor([[[1.0, 2.0]]]), 1),
             lambda t: t.multinomial(t.tensor([1.0, 2.0]), 0),
             lambda t: t.multinomial(t.tensor([1.0, 2.0]), 3),
             lambda t: t.multinomial(t.tensor([0.0, 0.0]), 1),
             lambda t: t.multinomial(t.tensor([-1.0, 2.0]), 1),
             lambda t: t.multinomial(t.tensor([0.0, 0.0]), 3, True),
             lambda t: t.multinomial(t.tensor([1.0, -2.0]), 3, True)]
    for fn in cases:
        with pytest.raises(RuntimeError) as theirs:
            fn(torch)
        with pytest.raises(RuntimeError) as ours:
            fn(numtorch)
        assert str(ours.value) == str(theirs.value)
    from torch.utils.data import WeightedRandomSampler as TorchSampler

    from numtorch.utils.data import WeightedRandomSampler
    weights = [0.1, 0.9, 0.4, 0.7, 3.0, 0.2]
    for replacement, n in ((True, 50), (False, 4), (True, 1)):
        numtorch.manual_seed(3)
        torch.manual_seed(3)
        assert (list(WeightedRandomSampler(weights, n, replacement))
                == list(TorchSampler(weights, n, replacement)))


def test_generator_copies():
    import copy
    import pickle
    g = numtorch.Generator().manual_seed(3)
    numtorch.randn(3, generator=g)
    for other in (g.clone_state(), copy.deepcopy(g), pickle.loads(pickle.dumps(g))):
        assert numtorch.equal(numtorch.randn(5, generator=other),
                              numtorch.randn(5, generator=g.clone_state()))
    with pytest.raises(RuntimeError, match="CPU Generator does not use offset"):
        g.get_offset()


class _Draws:
    """Each item: the draws a worker makes from Python's, NumPy's and the library's RNGs."""

    def __init__(self, lib):
        self.lib = lib

    def __len__(self):
        return 4

    def __getitem__(self, i):
        import random
        return (i, random.random(), float(np.random.random()), float(self.lib.rand(1)[0]))


def test_loader_workers_are_seeded_as_torchs():
    from torch.utils.data import DataLoader as TorchLoader

    from numtorch.utils.data import DataLoader

    numtorch.manual_seed(8)
    torch.manual_seed(8)
    ours = [tuple(b) for b in DataLoader(_Draws(numtorch), batch_size=None, num_workers=2)]
    theirs = [tuple(b) for b in TorchLoader(_Draws(torch), batch_size=None, num_workers=2)]
    assert ours == theirs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cauchy_log_normal_and_geometric(dtype):
    ng, tg = _pair(0)
    for name, args in (("cauchy_", (0.5, 2.0)), ("log_normal_", (1.0, 0.5)),
                       ("geometric_", (0.3,)), ("log_normal_", ()), ("cauchy_", ())):
        ours = getattr(numtorch.empty(7, 5, dtype=getattr(numtorch, dtype)), name)
        theirs = getattr(torch.empty(7, 5, dtype=getattr(torch, dtype)), name)
        _check(ours(*args, generator=ng), theirs(*args, generator=tg), ng, tg, 1e-6)
    _check(numtorch.empty(4, dtype=numtorch.int64).geometric_(0.3, generator=ng),
           torch.empty(4, dtype=torch.int64).geometric_(0.3, generator=tg), ng, tg)
    for fn in (lambda t: t.empty(3).geometric_(0), lambda t: t.empty(3).geometric_(1.5),
               lambda t: t.empty(3).cauchy_(0, -1), lambda t: t.empty(3).log_normal_(1, 0),
               lambda t: t.empty(3, dtype=t.int64).cauchy_(),
               lambda t: t.empty(3, dtype=t.int64).log_normal_()):
        with pytest.raises((RuntimeError, NotImplementedError)) as theirs:
            fn(torch)
        with pytest.raises(theirs.type) as ours:
            fn(numtorch)
        assert str(ours.value) == str(theirs.value)


def test_normal_and_bernoulli_of_parameters_that_require_grad():
    """PyTorch records them with zero gradients (not reparameterised samples)."""
    def run(lib):
        lib.manual_seed(4)
        mean = lib.zeros(2, 1, requires_grad=True)
        std = lib.ones(3, requires_grad=True)
        p = lib.full((3,), 0.5, requires_grad=True)
        samples = [lib.normal(mean, std), lib.normal(mean, 2.0), lib.normal(2.0, std),
                   lib.bernoulli(p)]
        names = [s.grad_fn.name() for s in samples]
        sum(s.sum() for s in samples).backward()
        with lib.no_grad():
            plain = lib.normal(mean, std).requires_grad
        return (names, [s.detach().numpy() for s in samples],
                [t.grad.numpy() for t in (mean, std, p)], plain)

    ours, theirs = run(numtorch), run(torch)
    assert ours[0] == theirs[0] == ["NormalBackward3", "NormalBackward1", "NormalBackward2",
                                    "BernoulliBackward0"]
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    for a, b in zip(ours[2], theirs[2]):
        assert a.shape == b.shape and not a.any() and not b.any()
    assert ours[3] is theirs[3] is False


def test_integer_tensors_refused_as_torch_refuses_them():
    for fn in (lambda t: t.empty(3, dtype=t.int64).exponential_(),
               lambda t: t.bernoulli(t.tensor([1, 0]))):
        with pytest.raises((RuntimeError, NotImplementedError)) as theirs:
            fn(torch)
        with pytest.raises(theirs.type) as ours:
            fn(numtorch)
        assert str(ours.value) == str(theirs.value)
