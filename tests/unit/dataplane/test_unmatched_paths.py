"""The bounded top-N summary of unmatched paths, and path shapes."""

from __future__ import annotations

import random

import pytest

from strangler_proxy.dataplane.unmatched_paths import UnmatchedPaths
from strangler_proxy.routes.path_shapes import MAX_SHAPE_CHARS, path_shape, shape_sample


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/orders/42/items", "/orders/{int}/items"),
        ("/orders/42/", "/orders/{int}/"),
        ("/orders/42", "/orders/{int}"),
        ("/a/1/b/22/c", "/a/{int}/b/{int}/c"),
        ("/carts/3f2504e0-4f89-11d3-9a0c-0305e82c3301/", "/carts/{uuid}/"),
        ("/blobs/507f1f77bcf86cd799439011", "/blobs/{hex}"),
        ("/api/v1/products", "/api/v1/products"),
        ("/products/blue-shirt-2/", "/products/blue-shirt-2/"),
        ("/cafe", "/cafe"),
        ("/", "/"),
    ],
)
def test_identifier_segments_collapse_and_others_stay(path: str, shape: str) -> None:
    assert path_shape(path) == shape


def test_a_shape_turns_back_into_a_path_of_that_shape() -> None:
    shape = "/a/{int}/b/{uuid}/c/{hex}"
    sample = shape_sample(shape)
    assert "{" not in sample
    assert path_shape(sample) == shape


def test_a_long_path_is_cut() -> None:
    assert len(path_shape("/x" * 5000)) == MAX_SHAPE_CHARS


def test_counts_by_shape_exactly_while_under_the_bound() -> None:
    paths = UnmatchedPaths(top=10)
    for i in range(30):
        paths.add(f"/products/{i}/")
    for _ in range(10):
        paths.add("/about/")
    kept, total = paths.drain()
    assert kept == [("/products/{int}/", 30), ("/about/", 10)]
    assert total == 40
    assert paths.drain() == ([], 0)


def test_memory_stays_bounded_when_every_path_is_new() -> None:
    paths = UnmatchedPaths(top=8, fold_at=50)
    for i in range(5000):
        paths.add(f"/page-{i}")
        assert len(paths._counts) <= 8
        assert len(paths._pending) < 50
    kept, total = paths.drain()
    assert total == 5000
    assert len(kept) <= 8


def test_the_heavy_hitters_of_a_skewed_stream_are_kept_with_exact_counts() -> None:
    rng = random.Random(7)
    heavy = {"/catalog/": 3000, "/orders/{int}/": 2000, "/cart/": 1000}
    stream = [path for path, n in heavy.items() for _ in range(n)]
    stream = [p.replace("{int}", str(rng.randrange(10**6))) for p in stream]
    stream += [f"/noise-{rng.randrange(10**9)}" for _ in range(4000)]  # one-off paths
    rng.shuffle(stream)
    paths = UnmatchedPaths(top=20, fold_at=97)  # many folds, many evictions
    for path in stream:
        paths.add(path)
    kept, total = paths.drain()
    assert total == len(stream)
    assert kept[:3] == [("/catalog/", pytest.approx(3000, rel=0.05)),
                        ("/orders/{int}/", pytest.approx(2000, rel=0.05)),
                        ("/cart/", pytest.approx(1000, rel=0.1))]  # fmt: skip
    counted = dict(kept)
    for shape, true_count in heavy.items():
        assert counted[shape] <= true_count  # a lower bound, never more than the truth
    assert all(count <= 40 for shape, count in kept[3:])  # noise stays noise


def test_a_shape_that_arrives_late_is_never_overcounted() -> None:
    paths = UnmatchedPaths(top=2, fold_at=1)
    for path in ["/a", "/a", "/b", "/c", "/c", "/c"]:
        paths.add(path)
    kept, total = paths.drain()
    assert total == 6
    counted = dict(kept)
    assert counted.get("/c", 0) <= 3
    assert counted["/a"] == 2


def test_top_must_be_positive() -> None:
    with pytest.raises(ValueError, match="top"):
        UnmatchedPaths(top=0)
