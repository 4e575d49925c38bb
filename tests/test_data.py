"""numtorch.utils.data against torch.utils.data: collation, samplers, DataLoader, workers."""

import collections
import time

import numpy as np
import pytest

import numtorch
from numtorch._tensor import Tensor
from numtorch.utils import data as nd

torch = pytest.importorskip("torch")
from torch.utils import data as td  # noqa: E402

Point = collections.namedtuple("Point", "x y")


def same(a, b):
    """Assert that numtorch structure ``a`` equals torch structure ``b`` (types, dtypes, values)."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, Tensor), f"expected a tensor, got {type(a)}"
        assert repr(a.dtype) == str(b.dtype)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(b, dict):
        assert type(a).__name__ == type(b).__name__ and list(a) == list(b)
        for k in b:
            same(a[k], b[k])
    elif isinstance(b, (list, tuple)):
        assert type(a).__name__ == type(b).__name__, (type(a), type(b))
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    else:
        assert type(a) is type(b) and a == b


def to_torch(obj):
    """The same sample built for torch (numtorch tensors → torch tensors)."""
    if isinstance(obj, Tensor):
        return torch.from_numpy(obj.numpy().copy())
    if isinstance(obj, Point):
        return Point(*(to_torch(o) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_torch(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_torch(v) for k, v in obj.items()}
    return obj


def T(arr):
    return Tensor._wrap(np.asarray(arr))


def batches(loader):
    return list(loader)


# ---------------------------------------------------------------------------- collation
COLLATE_CASES = {
    "float32 tensors": [T(np.ones((2, 3), np.float32)), T(np.zeros((2, 3), np.float32))],
    "int64 tensors": [T(np.array([1, 2])), T(np.array([3, 4]))],
    "0-d tensors": [T(np.array(1)), T(np.array(2))],
    "mixed tensor dtypes": [T(np.zeros(2, np.float32)), T(np.ones(2, np.int64))],
    "int32 arrays": [np.array([1, 2], np.int32), np.array([3, 4], np.int32)],
    "uint8 images": [np.full((2, 2), 7, np.uint8), np.full((2, 2), 9, np.uint8)],
    "numpy float scalars": [np.float32(1.5), np.float32(2.5)],
    "numpy int scalars": [np.int32(1), np.int32(2)],
    "python floats": [1.5, 2.5],
    "python ints": [1, 2],
    "python bools": [True, False],
    "ints with a float": [1, 2.5],
    "strings": ["a", "b"],
    "bytes": [b"a", b"b"],
    "tuples": [(T(np.array([1.0], np.float32)), 0), (T(np.array([2.0], np.float32)), 1)],
    "tuples with strings": [(1, "a"), (2, "b")],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested": [{"img": np.zeros((1, 2), np.float32), "meta": (Point(1, "u"), [True])},
               {"img": np.ones((1, 2), np.float32), "meta": (Point(2, "v"), [False])}],
    "range": [range(3), range(3)],
}


@pytest.mark.parametrize("name", list(COLLATE_CASES))
def test_default_collate_matches_torch(name):
    batch = COLLATE_CASES[name]
    same(nd.default_collate(batch), td.default_collate(to_torch(batch)))


@pytest.mark.parametrize("batch, exc", [
    ([object(), object()], TypeError),
    ([np.array(["x"]), np.array(["y"])], TypeError),
    ([np.array([object()]), np.array([object()])], TypeError),
    ([[1, 2], [1]], RuntimeError),
    ([{"a": 1}, {"b": 2}], KeyError),
    ([], IndexError),
])
def test_default_collate_errors(batch, exc):
    with pytest.raises(exc):
        td.default_collate(batch)
    with pytest.raises(exc):
        nd.default_collate(batch)


def test_default_collate_unequal_tensors():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        nd.default_collate([T(np.zeros(2)), T(np.zeros(3))])


def test_default_collate_shares_nothing_with_samples():
    a = np.zeros(3, np.float32)
    out = nd.default_collate([a, a])
    out.numpy()[0, 0] = 5
    assert a[0] == 0


@pytest.mark.parametrize("sample", [
    np.array([1, 2]), np.float64(2.0), np.int32(3), 3, "a", np.array(["s"]),
    (np.array(1.0),), [np.array([1.5], np.float32), "x"], {"k": np.float64(1.0)},
    Point(np.int64(1), 2.0),
])
def test_default_convert_matches_torch(sample):
    same(nd.default_convert(sample), td.default_convert(sample))


def test_default_convert_shares_memory_like_as_tensor():
    a = np.arange(3)
    assert np.shares_memory(nd.default_convert(a).numpy(), a)


# ---------------------------------------------------------------------------- datasets
def test_tensor_dataset():
    x, y = T(np.arange(12.0).reshape(6, 2)), T(np.arange(6))
    ds = nd.TensorDataset(x, y)
    assert len(ds) == 6
    sx, sy = ds[4]
    np.testing.assert_array_equal(sx.numpy(), [8.0, 9.0])
    assert sy.item() == 4
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        nd.TensorDataset(T(np.zeros(3)), T(np.zeros(4)))


def test_concat_subset_stack_chain():
    a, b = nd.TensorDataset(T(np.arange(3))), nd.TensorDataset(T(np.arange(10, 15)))
    cat = a + b
    assert isinstance(cat, nd.ConcatDataset)
    assert len(cat) == 8 and cat.cumulative_sizes == [3, 8]
    assert cat[3][0].item() == 10 and cat[-1][0].item() == 14
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-9]
    with pytest.raises(AssertionError, match="empty"):
        nd.ConcatDataset([])
    sub = nd.Subset(cat, [7, 0])
    assert len(sub) == 2 and sub[0][0].item() == 14 and sub[1][0].item() == 0
    st = nd.StackDataset(a, a)
    assert len(st) == 3 and st[2][1][0].item() == 2
    assert nd.StackDataset(p=a, q=a)[1]["q"][0].item() == 1
    with pytest.raises(ValueError):
        nd.StackDataset(a, b)

    class Stream(nd.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        nd.ConcatDataset([Stream(2)])
    chain = Stream(2) + Stream(3)
    assert isinstance(chain, nd.ChainDataset) and list(chain) == [0, 1, 0, 1, 2]


@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.3, 0.3, 0.4]), (11, [0.3, 0.3, 0.4]), (7, [0.25] * 4),
    (5, [0.5, 0.5]), (100, [0.8, 0.1, 0.1]),
])
def test_random_split_sizes_match_torch(n, lengths):
    ours = nd.random_split(range(n), lengths, generator=numtorch.Generator().manual_seed(0))
    theirs = td.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    flat = sorted(i for s in ours for i in s)
    assert flat == list(range(n))  # disjoint and covering


def test_random_split_generator_and_errors():
    g = lambda: numtorch.Generator().manual_seed(3)  # noqa: E731
    a = [list(s) for s in nd.random_split(range(20), [10, 10], generator=g())]
    b = [list(s) for s in nd.random_split(range(20), [10, 10], generator=g())]
    assert a == b and a[0] != list(range(10))
    numtorch.manual_seed(1)
    c = [list(s) for s in nd.random_split(range(20), [10, 10])]
    numtorch.manual_seed(1)
    assert c == [list(s) for s in nd.random_split(range(20), [10, 10])]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        nd.random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        nd.random_split(range(10), [0.5, 0.6])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        nd.random_split(range(10), [0.3, -0.3, 1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        nd.random_split(range(3), [0.1, 0.1, 0.8])


# ---------------------------------------------------------------------------- samplers
def test_sequential_and_batch_sampler_match_torch():
    assert list(nd.SequentialSampler(range(5))) == list(td.SequentialSampler(range(5)))
    for drop_last in (False, True):
        for bs in (1, 3, 5, 7):
            ours = nd.BatchSampler(nd.SequentialSampler(range(10)), bs, drop_last)
            theirs = td.BatchSampler(td.SequentialSampler(range(10)), bs, drop_last)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("args", [(0, False), (-1, False), (1.5, False), (True, False), (2, 3)])
def test_batch_sampler_errors(args):
    with pytest.raises(ValueError) as theirs:
        td.BatchSampler(range(4), *args)
    with pytest.raises(ValueError) as ours:
        nd.BatchSampler(range(4), *args)
    assert str(ours.value) == str(theirs.value)


def test_random_sampler():
    g = numtorch.Generator().manual_seed(0)
    s = nd.RandomSampler(range(10), generator=g)
    first, second = list(s), list(s)
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert first != second  # a fresh order every epoch
    longer = list(nd.RandomSampler(range(4), num_samples=10, generator=g))
    assert len(longer) == 10 and all(longer.count(i) in (2, 3) for i in range(4))
    rep = nd.RandomSampler(range(3), replacement=True, num_samples=50, generator=g)
    drawn = list(rep)
    assert len(rep) == 50 and len(drawn) == 50 and set(drawn) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        nd.RandomSampler(range(3), replacement=3)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        nd.RandomSampler(range(3), num_samples=0)


def test_subset_and_weighted_samplers():
    g = numtorch.Generator().manual_seed(0)
    s = nd.SubsetRandomSampler([5, 7, 9], generator=g)
    assert len(s) == 3 and sorted(s) == [5, 7, 9]
    w = nd.WeightedRandomSampler([0.0, 1.0, 3.0], 200, generator=g)
    drawn = list(w)
    assert len(drawn) == 200 and 0 not in drawn and drawn.count(2) > drawn.count(1)
    assert str(w.weights.dtype) == "torch.float64"
    nr = list(nd.WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=g))
    assert sorted(nr) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError):
        list(nd.WeightedRandomSampler([1, 2], 3, replacement=False))
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        nd.WeightedRandomSampler([1, 2], 0)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        nd.WeightedRandomSampler([[1, 2]], 2)


# ---------------------------------------------------------------------------- DataLoader
def _xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return (nd.TensorDataset(T(x), T(y)),
            td.TensorDataset(torch.from_numpy(x.copy()), torch.from_numpy(y.copy())))


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True),
                                                   (10, True), (4, False), (12, True)])
def test_dataloader_batches_match_torch(batch_size, drop_last):
    ours, theirs = _xy()
    a = nd.DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
    b = td.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
    assert len(a) == len(b)
    same(batches(a), batches(b))


def test_dataloader_nested_samples_match_torch():
    class Nested(nd.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"img": np.full((1, 2, 2), i, np.uint8), "label": i, "w": i / 2,
                    "name": f"s{i}", "pt": Point(T(np.array([i, -i])), np.float32(i))}

    class TorchNested(td.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return to_torch(Nested()[i])

    same(batches(nd.DataLoader(Nested(), batch_size=2)),
         batches(td.DataLoader(TorchNested(), batch_size=2)))
    same(batches(nd.DataLoader(Nested(), batch_size=None)),
         batches(td.DataLoader(TorchNested(), batch_size=None)))


def test_dataloader_plain_list_dataset():
    same(batches(nd.DataLoader([1, 2, 3], batch_size=2)),
         batches(td.DataLoader([1, 2, 3], batch_size=2)))
    assert batches(nd.DataLoader([1, 2, 3], batch_size=None)) == [1, 2, 3]


def test_shuffle_covers_every_sample_once_and_is_seeded():
    ds, _ = _xy(23)
    loader = nd.DataLoader(ds, batch_size=5, shuffle=True,
                           generator=numtorch.Generator().manual_seed(0))
    epochs = [np.concatenate([yb.numpy() for _, yb in loader]) for _ in range(2)]
    firsts = [np.concatenate([xb.numpy()[:, 0] for xb, _ in loader]) for _ in range(2)]
    for f in firsts:
        assert sorted(f.tolist()) == list(range(0, 69, 3))
    assert not np.array_equal(firsts[0], firsts[1])
    assert [len(y) for y in epochs] == [23, 23]
    numtorch.manual_seed(5)
    run1 = [xb.numpy() for xb, _ in nd.DataLoader(ds, batch_size=4, shuffle=True)]
    numtorch.manual_seed(5)
    run2 = [xb.numpy() for xb, _ in nd.DataLoader(ds, batch_size=4, shuffle=True)]
    np.testing.assert_array_equal(np.concatenate(run1), np.concatenate(run2))


def test_tensor_dataset_fast_path_equals_generic_path():
    ds, _ = _xy(17)
    sub = nd.Subset(nd.Subset(ds, list(range(16, -1, -1))), [3, 0, 5, 8, 1, 2, 9, 11])
    for dataset in (ds, sub):
        for shuffle in (False, True):
            fast = nd.DataLoader(dataset, batch_size=3, shuffle=shuffle,
                                 generator=numtorch.Generator().manual_seed(1))
            slow = nd.DataLoader(dataset, batch_size=3, shuffle=shuffle,
                                 collate_fn=lambda b: nd.default_collate(b),
                                 generator=numtorch.Generator().manual_seed(1))
            got, want = batches(fast), batches(slow)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert type(g) is list and len(g) == 2
                for gt, wt in zip(g, w):
                    assert gt.dtype == wt.dtype and gt.shape == wt.shape
                    np.testing.assert_array_equal(gt.numpy(), wt.numpy())


def test_sampler_and_batch_sampler_options():
    ours, theirs = _xy()
    same(batches(nd.DataLoader(ours, batch_size=2, sampler=[9, 1, 4])),
         batches(td.DataLoader(theirs, batch_size=2, sampler=[9, 1, 4])))
    same(batches(nd.DataLoader(ours, batch_sampler=[[0, 5], [2], [9, 8, 7]])),
         batches(td.DataLoader(theirs, batch_sampler=[[0, 5], [2], [9, 8, 7]])))
    loader = nd.DataLoader(ours, batch_sampler=nd.BatchSampler(range(10), 4, False))
    assert len(loader) == 3 and loader.batch_size is None
    same(batches(nd.DataLoader(ours, batch_size=None, sampler=[3, 1])),
         batches(td.DataLoader(theirs, batch_size=None, sampler=[3, 1])))


LOADER_ERRORS = [
    dict(batch_size=0), dict(batch_size=-1), dict(batch_size=1.5),
    dict(shuffle=True, sampler=[0, 1]),
    dict(batch_sampler=[[0]], batch_size=3), dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], drop_last=True), dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_size=None, drop_last=True), dict(num_workers=-1), dict(timeout=-1),
    dict(prefetch_factor=2), dict(persistent_workers=True),
    dict(multiprocessing_context="fork"), dict(num_workers=1, multiprocessing_context="bogus"),
]


@pytest.mark.parametrize("kwargs", LOADER_ERRORS)
def test_dataloader_argument_errors_match_torch(kwargs):
    ours, theirs = _xy()
    with pytest.raises(ValueError) as want:
        td.DataLoader(theirs, **kwargs)
    with pytest.raises(ValueError) as got:
        nd.DataLoader(ours, **kwargs)
    assert str(got.value) == str(want.value)


def test_dataloader_attributes_frozen():
    loader = nd.DataLoader(_xy()[0], batch_size=3)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 4
    loader.num_workers = 0  # not frozen in PyTorch either
    assert loader.pin_memory is False and loader.timeout == 0


class Countdown(nd.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = nd.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def test_iterable_dataset_loader():
    loader = nd.DataLoader(Countdown(7), batch_size=3)
    assert len(loader) == 3
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in nd.DataLoader(Countdown(7), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    assert len(nd.DataLoader(Countdown(7), batch_size=3, drop_last=True)) == 2
    assert list(nd.DataLoader(Countdown(3), batch_size=None)) == [0, 1, 2]
    for kwargs in (dict(shuffle=True), dict(sampler=[1]), dict(batch_sampler=[[1]])):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected "
                                             "unspecified"):
            nd.DataLoader(Countdown(3), **kwargs)


def test_get_worker_info_in_main_process():
    assert nd.get_worker_info() is None


# ---------------------------------------------------------------------------- workers
def test_workers_give_the_same_batches_as_the_main_process():
    ds, _ = _xy(37)
    kw = dict(batch_size=4, shuffle=True)
    single = batches(nd.DataLoader(ds, generator=numtorch.Generator().manual_seed(7), **kw))
    multi_loader = nd.DataLoader(ds, num_workers=2, prefetch_factor=3,
                                 generator=numtorch.Generator().manual_seed(7), **kw)
    multi = batches(multi_loader)
    assert len(single) == len(multi) == len(multi_loader) == 10
    for s, m in zip(single, multi):
        for st, mt in zip(s, m):
            assert st.dtype == mt.dtype
            np.testing.assert_array_equal(st.numpy(), mt.numpy())


def _record_worker(worker_id):
    info = nd.get_worker_info()
    assert info.id == worker_id and info.num_workers == 2
    np.random.seed(1000 + worker_id)  # visible in the samples below


class WhoLoads(nd.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = nd.get_worker_info()
        return i, info.id, info.seed


def test_worker_info_seed_and_init_fn():
    loader = nd.DataLoader(WhoLoads(), batch_size=2, num_workers=2,
                           worker_init_fn=_record_worker)
    out = batches(loader)
    assert [b[0].tolist() for b in out] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [b[1].tolist() for b in out] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    seeds = {tuple(b[2].tolist()) for b in out}
    assert len({s[0] for s in seeds}) == 2  # each worker its own seed (base_seed + id)


def test_persistent_workers_and_iterable_sharding():
    loader = nd.DataLoader(Countdown(10), batch_size=3, num_workers=2, persistent_workers=True)
    for _ in range(2):
        got = sorted(i for b in loader for i in b.tolist())
        assert got == list(range(10))  # each worker yields its own share, nothing twice
    it = loader._iterator
    assert it is not None and all(w.is_alive() for w in it._workers)
    it._shutdown_workers()


class Faulty(nd.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise ValueError("bad sample 3")
        return i


class Slow(nd.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(3)
        return i


def test_worker_errors_reach_the_main_process():
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process"):
        batches(nd.DataLoader(Faulty(), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        batches(nd.DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.2))


def test_workers_with_batch_sampler_out_of_order_and_early_exit():
    import multiprocessing

    ds, _ = _xy(12)
    sampler = [[0, 5], [2], [11, 10, 9], [3, 4]]
    single = batches(nd.DataLoader(ds, batch_sampler=sampler))
    multi = batches(nd.DataLoader(ds, batch_sampler=sampler, num_workers=2))
    for s, m in zip(single, multi):
        np.testing.assert_array_equal(s[1].numpy(), m[1].numpy())
    loose = batches(nd.DataLoader(ds, batch_size=5, num_workers=2, in_order=False))
    assert sorted(i for b in loose for i in b[0].numpy()[:, 0].tolist()) == list(range(0, 36, 3))
    it = iter(nd.DataLoader(ds, batch_size=2, num_workers=2))
    next(it)
    del it  # breaking out of an epoch stops the workers
    assert multiprocessing.active_children() == []


def test_collate_keeps_the_graph_of_tensors_that_require_grad():
    a = numtorch.ones(2, requires_grad=True)
    out = nd.default_collate([a, a * 2])
    assert out.requires_grad and type(out.grad_fn).__name__ == "StackBackward0"
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


def test_fast_path_respects_tensor_dataset_subclasses():
    class Doubled(nd.TensorDataset):
        def __getitem__(self, index):
            return tuple(t[index] * 2 for t in self.tensors)

    ds = Doubled(T(np.arange(4)))
    assert ds._fetch_collated(np.arange(2)) is None
    assert [b[0].tolist() for b in nd.DataLoader(ds, batch_size=2)] == [[0, 2], [4, 6]]


@pytest.mark.parametrize("name", ["Dataset", "IterableDataset", "Subset", "ConcatDataset",
                                  "StackDataset", "Sampler", "DistributedSampler", "DataLoader"])
def test_generic_classes_take_a_type_argument_as_in_torch(name):
    # Typed user code subclasses ``Dataset[Tensor]`` or annotates ``DataLoader[int]``: both must
    # work at run time, as with torch's Generic classes.
    alias = getattr(nd, name)[int]
    assert alias.__origin__ is getattr(nd, name)
    assert repr(alias) == repr(getattr(td, name)[int]).replace("torch.", "numtorch.")


def test_typed_dataset_subclass_loads_like_torchs():
    def make(data, tensor):
        class Squares(data.Dataset[tuple]):
            def __len__(self):
                return 5

            def __getitem__(self, i):
                return tensor([i]), i * i
        return Squares()

    ours = list(nd.DataLoader(make(nd, numtorch.tensor), batch_size=2))
    theirs = list(td.DataLoader(make(td, torch.tensor), batch_size=2))
    same(ours, theirs)
    assert isinstance(nd.TensorDataset(numtorch.zeros(2)), nd.Dataset)
    assert issubclass(nd.IterableDataset, collections.abc.Iterable)
