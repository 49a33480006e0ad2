"""A wrong call fails at the entry point with a message naming the argument, what it got and what it expected."""
import pytest
import torch

from zoo.ops import selective_scan, selective_scan_step, ssd

from .cases import scan_inputs, ssd_inputs


def scan_with(**changes):
    kw = scan_inputs(seqlen=10, dim=4, dstate=3)
    kw.update(changes)
    return selective_scan(**kw, backend="chunked")


@pytest.mark.parametrize("name, bad, pattern", [
    ("u", torch.randn(2, 4), r"u has shape \(2, 4\), expected \(batch, dim, seqlen\)"),
    ("delta", torch.rand(2, 4, 11), r"delta has shape \(2, 4, 11\).*seqlen, should be 10"),
    ("A", -torch.rand(5, 3), r"A has shape \(5, 3\), expected \(dim=4, dstate\).*should be 4"),
    ("B", torch.randn(2, 2, 10), r"B has shape \(2, 2, 10\).*dstate, should be 3"),
    ("D", torch.randn(3), r"D has shape \(3,\), expected \(dim=4,\)|D has shape \(3,\), expected \(dim=4\)"),
    ("initial_state", torch.randn(2, 4, 2), r"initial_state has shape \(2, 4, 2\)"),
])
def test_wrong_shape_names_argument_and_expected_shape(name, bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        scan_with(**{name: bad})


def test_wrong_dtype_is_a_type_error():
    with pytest.raises(TypeError, match=r"delta has dtype int64, expected one of"):
        scan_with(delta=torch.ones(2, 4, 10, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"u must be a torch.Tensor, got list"):
        scan_with(u=[1.0, 2.0])


def test_wrong_device_names_both_devices():
    with pytest.raises(ValueError, match=r"C is on meta, expected cpu"):
        scan_with(C=torch.empty(2, 3, 10, device="meta"))


def test_mismatched_groups():
    with pytest.raises(ValueError, match=r"C has shape \(2, 1, 3, 10\), expected \(batch=2, groups=2, dstate=3, seqlen=10\)"):
        scan_with(B=torch.randn(2, 2, 3, 10), C=torch.randn(2, 1, 3, 10))
    with pytest.raises(ValueError, match=r"dim=4 is not divisible by groups=3"):
        scan_with(B=torch.randn(2, 3, 3, 10), C=torch.randn(2, 3, 3, 10))


def test_time_invariant_B_needs_a_time_invariant_C():
    with pytest.raises(ValueError, match=r"B has shape \(4, 3\) and C \(2, 3, 10\): time-invariant B and C"):
        scan_with(B=torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"C has shape \(4, 2\), expected \(dim=4, dstate=3\)"):
        scan_with(B=torch.randn(4, 3), C=torch.randn(4, 2))


def test_unknown_backend_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown scan backend .*'cuda-fast'.*auto, naive, chunked, fused, triton"):
        selective_scan(**scan_inputs(seqlen=4), backend="cuda-fast")


def test_ssd_bad_inputs():
    kw = ssd_inputs(seqlen=12, nheads=4, ngroups=2)
    with pytest.raises(ValueError, match=r"chunk_size must be a positive int, got 0"):
        ssd(**kw, chunk_size=0)
    with pytest.raises(ValueError, match=r"nheads=4 is not divisible by ngroups=3"):
        ssd(**dict(kw, B=torch.randn(2, 12, 3, 5), C=torch.randn(2, 12, 3, 5)), chunk_size=4)
    with pytest.raises(ValueError, match=r"dt has shape \(2, 12, 3\).*nheads, should be 4"):
        ssd(**dict(kw, dt=torch.rand(2, 12, 3)), chunk_size=4)
    with pytest.raises(ValueError, match=r"D has shape \(4, 7\), expected \(nheads=4, headdim=3\)"):
        ssd(**dict(kw, D=torch.randn(4, 7)), chunk_size=4)


def test_step_bad_state_shape():
    kw = scan_inputs(seqlen=1, dim=4, dstate=3, flags=())
    with pytest.raises(ValueError, match=r"state has shape \(2, 4, 5\), expected \(batch=2, dim=4, dstate=3\)"):
        selective_scan_step(torch.zeros(2, 4, 5), kw["u"][..., 0], kw["delta"][..., 0], kw["A"],
                            kw["B"][..., 0], kw["C"][..., 0])
