"""Notebooks 01-03 (kNN, linear scores, SVM/softmax losses): the expectations that hold at smoke size,
and unit tests of course_utils.numpy_.knn and course_utils.numpy_.linear (fast, no notebook execution)."""
import numpy as np
import pytest

from course_utils.numpy_ import knn, linear


# -- course_utils.numpy_.knn ---------------------------------------------------------------------------
@pytest.fixture
def small_images():
    rng = np.random.default_rng(1)
    return (rng.integers(0, 256, size=(6, 4, 4, 3), dtype=np.uint8),
            rng.integers(0, 256, size=(9, 4, 4, 3), dtype=np.uint8))


def test_three_l2_methods_equal_exactly(small_images):
    a, b = small_images
    two = knn.l2_distances_two_loops(a, b)
    assert two.shape == (6, 9)
    np.testing.assert_array_equal(two, knn.l2_distances_one_loop(a, b))
    np.testing.assert_array_equal(two, knn.l2_distances_no_loops(a, b))
    ref = np.sqrt(((a.reshape(6, 1, -1).astype(float) - b.reshape(1, 9, -1)) ** 2).sum(-1))
    np.testing.assert_allclose(two, ref)


def test_l1_distance(small_images):
    a, b = small_images
    ref = np.abs(a.reshape(6, 1, -1).astype(float) - b.reshape(1, 9, -1)).sum(-1)
    np.testing.assert_array_equal(knn.l1_distances(a, b), ref)
    assert knn.KNearestNeighbor("l1").train(b, np.arange(9)).compute_distances(a).shape == (6, 9)


def test_no_loops_clips_rounding_negatives():
    x = np.full((1, 3), 1e8)
    assert knn.l2_distances_no_loops(x, x)[0, 0] == 0.0


def test_majority_vote_tie_rule():
    votes = np.array([[3, 5, 5, 3], [7, 7, 2, 9], [9, 1, 4, 6], [4, 4, 4, 4]])
    np.testing.assert_array_equal(knn.majority_vote(votes, n_classes=10), [3, 7, 1, 4])
    with pytest.raises(ValueError):
        knn.majority_vote(np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        knn.majority_vote(np.array([[1, -1]]))


def test_knn_predicts_and_agrees_with_sklearn():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(120, 12)).astype(np.uint8)
    y = rng.integers(0, 4, size=120)
    Xq = rng.integers(0, 256, size=(30, 12)).astype(np.uint8)
    clf = knn.KNearestNeighbor().train(X, y)
    np.testing.assert_array_equal(clf.predict(X, k=1), y)  # every training point is its own neighbour
    for k in (1, 3, 4, 7):
        sk = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(X.astype(float), y)
        np.testing.assert_array_equal(clf.predict(Xq, k=k), sk.predict(Xq.astype(float)))


def test_knn_bad_input():
    clf = knn.KNearestNeighbor()
    with pytest.raises(RuntimeError):
        clf.compute_distances(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        knn.KNearestNeighbor("cosine")
    with pytest.raises(ValueError):
        clf.train(np.zeros((3, 2)), np.zeros(4))
    clf.train(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError):
        clf.predict_labels(np.zeros((2, 3)), k=4)
    with pytest.raises(ValueError):
        clf.predict_labels(np.zeros((2, 5)), k=1)
    with pytest.raises(ValueError):
        clf.compute_distances(np.zeros((2, 2)), method="three_loops")


def test_cross_validate_k_shuffles_sorted_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 20)                      # sorted by class, like an image folder
    X = y[:, None] * 50.0 + rng.normal(0, 1, size=(100, 3))
    res = knn.cross_validate_k(X, y, [1, 3], num_folds=5, seed=0)
    assert set(res) == {1, 3} and all(len(v) == 5 for v in res.values())
    assert np.mean(res[1]) == 1.0                        # separable clusters
    unshuffled = knn.cross_validate_k(X, y, [1], num_folds=5, seed=None)
    assert np.mean(unshuffled[1]) == 0.0                 # each held-out fold is a class never seen
    with pytest.raises(ValueError):
        knn.cross_validate_k(X, y, [1], num_folds=1)


def test_time_call_returns_result_and_best_time():
    out, t = knn.time_call(sum, [1, 2, 3], repeats=3)
    assert out == 6 and 0 <= t < 1
    with pytest.raises(ValueError):
        knn.time_call(sum, [1], repeats=0)


# -- course_utils.numpy_.linear ------------------------------------------------------------------------
def test_linear_scores_toy_cat():
    x = np.array([56, 231, 24, 2.0])
    W = np.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0, 0.25, 0.2, -0.3]])
    b = np.array([1.1, 3.2, -1.2])
    np.testing.assert_allclose(linear.linear_scores(x, W, b), [-96.8, 437.9, 60.75])
    Xb = linear.add_bias_column(x[None])
    np.testing.assert_allclose(Xb @ np.hstack([W, b[:, None]]).T, linear.linear_scores(x[None], W, b))
    with pytest.raises(ValueError):
        linear.linear_scores(x, W[:, :3])
    with pytest.raises(ValueError):
        linear.linear_scores(x, W, b[:2])


def test_toy_losses():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    np.testing.assert_allclose(linear.hinge_losses(scores, y), [2.9, 0.0, 12.9], atol=1e-12)
    assert linear.cross_entropy_losses(scores[:1], [0])[0] == pytest.approx(2.0404, abs=1e-4)
    np.testing.assert_allclose(linear.softmax(scores[0]), [0.1300, 0.8690, 0.0010], atol=1e-4)
    with pytest.raises(ValueError):
        linear.hinge_losses(scores, np.array([0, 1, 3]))


def test_stable_softmax_does_not_overflow():
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(linear.softmax_unstable(np.array([1000.0, 1001.0]))).all()
    p = linear.softmax(np.array([[1000.0, 1001.0], [0.0, 0.0]]))
    np.testing.assert_allclose(p, [[1 / (1 + np.e), np.e / (1 + np.e)], [0.5, 0.5]])


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    X = linear.add_bias_column(rng.normal(0, 50, size=(40, 20)))
    y = rng.integers(0, 5, size=40)
    W = 0.001 * rng.standard_normal((21, 5))
    return W, X, y


@pytest.mark.parametrize("naive,vectorized", [(linear.svm_loss_naive, linear.svm_loss_vectorized),
                                              (linear.softmax_loss_naive, linear.softmax_loss_vectorized)])
def test_naive_equals_vectorized(problem, naive, vectorized):
    W, X, y = problem
    ln, gn = naive(W, X, y, 0.7)
    lv, gv = vectorized(W, X, y, 0.7)
    assert abs(ln - lv) < 1e-9 and np.abs(gn - gv).max() < 1e-9
    with pytest.raises(ValueError):
        vectorized(W[:-1], X, y, 0.7)


def test_initial_losses_sanity(problem):
    W, X, y = problem
    assert linear.softmax_loss_vectorized(W * 1e-6, X, y, 0.0)[0] == pytest.approx(np.log(5), abs=1e-3)
    assert linear.svm_loss_vectorized(W * 1e-6, X, y, 0.0)[0] == pytest.approx(4.0, abs=1e-3)


def test_gradient_check_passes_and_catches_a_wrong_gradient(problem):
    W, X, y = problem
    f = lambda w: linear.softmax_loss_vectorized(w, X, y, 0.1)[0]
    grad = linear.softmax_loss_vectorized(W, X, y, 0.1)[1]
    err, table = linear.gradient_check(f, W, grad, num_checks=15, h=1e-6, seed=0)
    assert err < 1e-7 and len(table) == 15
    bad, _ = linear.gradient_check(f, W, -grad, num_checks=5, h=1e-6, seed=0)
    assert bad > 0.5
    with pytest.raises(ValueError):
        linear.gradient_check(f, W, grad[:-1], num_checks=3)


def test_gradient_check_flags_svm_kinks():
    # one example sitting exactly on a kink: margin s_1 - s_0 + 1 == 0 at W
    X = np.array([[1.0, 0.0]])
    y = np.array([0])
    W = np.array([[1.0, 0.0], [0.0, 0.0]])
    f = lambda w: linear.svm_loss_vectorized(w, X, y, 0.0)[0]
    grad = linear.svm_loss_vectorized(W, X, y, 0.0)[1]
    _, table = linear.gradient_check(f, W, grad, num_checks=8, h=1e-3, seed=0,
                                     kink_state=lambda w: linear.svm_active_margins(w, X, y))
    assert any(row[4] for row in table if row[0][0] == 0)
    assert not any(row[4] for row in table if row[0][0] == 1)  # W[1, :] multiplies x=0: no kink


def test_numerical_gradient_of_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(linear.numerical_gradient(lambda v: np.sum(v**2), x), 2 * x, atol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # restored
    with pytest.raises(ValueError):
        linear.numerical_gradient(lambda v: 0.0, x, h=0)


def test_classifiers_learn_separable_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    centres = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    X = linear.add_bias_column(centres[y] + rng.normal(0, 1, size=(300, 2)))
    for cls in (linear.LinearSVM, linear.Softmax):
        model = cls(seed=0)
        hist = model.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=300, batch_size=32)
        assert hist[-1] < hist[0]
        assert model.accuracy(X, y) > 0.95
    with pytest.raises(RuntimeError):
        linear.Softmax().predict(X)
    with pytest.raises(ValueError):
        linear.Softmax().train(X, y, learning_rate=-1.0)
    with pytest.raises(ValueError):
        linear.LinearClassifier()


def test_prepare_cifar_splits_and_search():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(60, 4, 4, 3), dtype=np.uint8)
    y = np.repeat(np.arange(3), 20)
    xt, yt = x[:9], y[:9]
    d = linear.prepare_cifar_splits(x, y, xt, yt, n_val=12, n_dev=10, seed=0)
    assert d["X_train"].shape == (48, 49) and d["X_val"].shape == (12, 49) and d["X_dev"].shape == (10, 49)
    np.testing.assert_allclose(d["X_train"][:, :-1].mean(axis=0), 0.0, atol=1e-9)
    assert (d["X_test"][:, -1] == 1).all()
    assert len(set(d["y_val"])) > 1  # shuffled: the validation split is not one class
    with pytest.raises(ValueError):
        linear.prepare_cifar_splits(x, y, xt, yt, n_val=0)
    results, best, hist = linear.search_hyperparameters(lambda: linear.Softmax(seed=0), d, [1e-6, 1e-5], [0.0],
                                                        num_iters=5, batch_size=8)
    assert len(results) == 2 and len(hist) == 5 and best.W.shape == (49, 3)


def test_weight_templates_shapes():
    W = np.random.default_rng(0).standard_normal((3073, 10))
    t = linear.weight_templates(W)
    assert len(t) == 10 and t[0].shape == (32, 32, 3) and t[0].dtype == np.uint8
    assert t[0].min() == 0 and t[0].max() == 255
    assert len(linear.weight_templates(W[:-1].T)) == 10
    with pytest.raises(ValueError):
        linear.weight_templates(np.zeros((5, 7)))
