"""The padding mask: a masked position leaves the state untouched. So a masked sequence must give the
state, and at its kept positions the outputs, of the same sequence with the masked positions cut out.
Every backend, both directions; Triton under the interpreter (`triton`) or on a GPU (`gpu`)."""
import pytest
import torch

from zoo.ops import selective_scan, ssd

from .cases import CPU_FAST, SCAN_FLAGS, SSD_FLAGS, on, scan_inputs, ssd_inputs


def scan_cut(kw, keep):
    """The inputs without the masked positions (time is the last axis)."""
    return {k: v[..., keep] if torch.is_tensor(v) and v.dim() >= 2 and v.shape[-1] == keep.numel() else v
            for k, v in kw.items() if k != "mask"}


def ssd_cut(kw, keep):
    """The inputs without the masked positions (time is axis 1)."""
    return {k: v[:, keep] if torch.is_tensor(v) and v.dim() >= 3 and v.shape[1] == keep.numel() else v
            for k, v in kw.items() if k != "mask"}


def check_scan(backend, device, reverse):
    kw = scan_inputs(batch=1, dim=4, dstate=3, seqlen=30, groups=2, flags=SCAN_FLAGS)
    keep = kw["mask"][0]
    assert 0 < keep.sum() < keep.numel()
    out, state = selective_scan(**on(kw, device), reverse=reverse, return_last_state=True, backend=backend)
    out_cut, state_cut = selective_scan(**on(scan_cut(kw, keep), device), reverse=reverse, return_last_state=True,
                                        backend=backend)
    torch.testing.assert_close(state.cpu(), state_cut.cpu(), rtol=6e-4, atol=2e-3)
    torch.testing.assert_close(out[..., keep.to(out.device)].cpu(), out_cut.cpu(), rtol=6e-4, atol=2e-3)


def check_ssd(backend, device, reverse):
    kw = ssd_inputs(batch=1, seqlen=30, flags=SSD_FLAGS)
    keep = kw["mask"][0]
    y, state = ssd(**on(kw, device), chunk_size=8, reverse=reverse, return_final_states=True, backend=backend)
    y_cut, state_cut = ssd(**on(ssd_cut(kw, keep), device), chunk_size=8, reverse=reverse,
                           return_final_states=True, backend=backend)
    torch.testing.assert_close(state.cpu(), state_cut.cpu(), rtol=6e-4, atol=2e-3)
    torch.testing.assert_close(y[:, keep.to(y.device)].cpu(), y_cut.cpu(), rtol=6e-4, atol=2e-3)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_masked_positions_leave_the_state_untouched(backend, reverse):
    check_scan(backend, "cpu", reverse)
    check_ssd(backend, "cpu", reverse)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_triton_masked_positions_leave_the_state_untouched(reverse, kernel_device):
    check_scan("triton", kernel_device, reverse)
    check_ssd("triton", kernel_device, reverse)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.float32])
def test_a_numeric_mask_means_nonzero_is_kept(dtype):
    kw = scan_inputs(seqlen=12, flags=SCAN_FLAGS)
    as_bool = selective_scan(**kw)
    as_numbers = selective_scan(**dict(kw, mask=kw["mask"].to(dtype)))
    torch.testing.assert_close(as_numbers, as_bool)
