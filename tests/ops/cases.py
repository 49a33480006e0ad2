"""Random inputs for the scan-core tests and a comparison of outputs and gradients."""
from __future__ import annotations

import pytest
import torch

from zoo.ops.probe import GRAD_LOOSER, TOL, outputs_and_grads  # noqa: F401  (shared with auto's Triton checks)

# the optional inputs the one-token step functions take too; the full scans also take a padding mask
SCAN_STEP_FLAGS = ("D", "z", "delta_bias", "delta_softplus", "initial_state")
SSD_STEP_FLAGS = ("D", "z", "dt_bias", "dt_softplus", "initial_states")
SCAN_FLAGS = SCAN_STEP_FLAGS + ("mask",)
SSD_FLAGS = SSD_STEP_FLAGS + ("mask",)


def random_mask(batch, seqlen, generator):
    """About a third of the positions masked, the first one always kept."""
    keep = torch.rand(batch, seqlen, generator=generator) > 0.35
    keep[:, 0] = True
    return keep


def scan_inputs(batch=2, dim=5, dstate=3, seqlen=37, groups=None, flags=SCAN_STEP_FLAGS, dtype=torch.float32,
                dt_scale=1.0, seed=0, invariant=False):
    """Keyword arguments for selective_scan. groups=None gives the 3-D (ungrouped) B and C; invariant=True
    the time-invariant (dim, dstate) ones."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    bc = (dim, dstate) if invariant else (batch, dstate, seqlen) if groups is None else (batch, groups, dstate, seqlen)
    kw = dict(u=r(batch, dim, seqlen), delta=torch.rand(batch, dim, seqlen, generator=g, dtype=torch.float64) * dt_scale,
              A=-(torch.rand(dim, dstate, generator=g, dtype=torch.float64) + 0.1), B=r(*bc), C=r(*bc))
    optional = dict(D=r(dim), z=r(batch, dim, seqlen), delta_bias=r(dim) * 0.5, initial_state=r(batch, dim, dstate))
    kw.update({k: v for k, v in optional.items() if k in flags})
    if "mask" in flags:
        kw["mask"] = random_mask(batch, seqlen, g)
    kw = {k: _cast(k, v, dtype) for k, v in kw.items()}
    kw["delta_softplus"] = "delta_softplus" in flags
    return kw


def ssd_inputs(batch=2, seqlen=37, nheads=4, headdim=3, dstate=5, ngroups=2, flags=SSD_STEP_FLAGS, dtype=torch.float32,
               D_per_channel=False, dt_scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    kw = dict(x=r(batch, seqlen, nheads, headdim),
              dt=torch.rand(batch, seqlen, nheads, generator=g, dtype=torch.float64) * dt_scale,
              A=-(torch.rand(nheads, generator=g, dtype=torch.float64) + 0.1),
              B=r(batch, seqlen, ngroups, dstate), C=r(batch, seqlen, ngroups, dstate))
    optional = dict(D=r(nheads, headdim) if D_per_channel else r(nheads), z=r(batch, seqlen, nheads, headdim),
                    dt_bias=r(nheads) * 0.5, initial_states=r(batch, nheads, headdim, dstate))
    kw.update({k: v for k, v in optional.items() if k in flags})
    if "mask" in flags:
        kw["mask"] = random_mask(batch, seqlen, g)
    kw = {k: _cast(k, v, dtype) for k, v in kw.items()}
    kw["dt_softplus"] = "dt_softplus" in flags
    return kw


def _cast(name, t, dtype):
    if t.dtype == torch.bool:
        return t
    # parameters stay float32 when activations are half precision, as in a mixed-precision model
    keep = name in ("A", "D", "delta_bias", "dt_bias", "initial_state", "initial_states")
    return t.to(torch.float32 if keep and dtype in (torch.float16, torch.bfloat16) else dtype)


def _fused_builds() -> bool:
    from zoo.ops import fused
    try:
        fused.library()
    except fused.Unavailable:
        return False
    return True


# The CPU's fast backends. The compiled kernels are skipped only where they cannot build (no C compiler);
# test_dispatch.py fails if they do not build where a compiler exists, so CI cannot skip them silently.
FUSED = pytest.param("fused", marks=pytest.mark.skipif(not _fused_builds(), reason="the C kernels do not build here"))
CPU_FAST = ["chunked", FUSED]


def on(kw: dict, device) -> dict:
    """The same keyword arguments with every tensor moved to `device`."""
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in kw.items()}


def differentiable(kw: dict) -> dict:
    """The same keyword arguments with every floating tensor requiring a gradient."""
    return {k: v.requires_grad_(v.is_floating_point()) if torch.is_tensor(v) else v for k, v in kw.items()}


def double(kw: dict) -> dict:
    """The same keyword arguments with every tensor in float64 (for the oracle)."""
    return {k: v.double() if torch.is_tensor(v) else v for k, v in kw.items()}


def assert_close(got: dict, want: dict, dtype=torch.float32):
    rtol, atol = TOL[dtype]
    assert got.keys() == want.keys()
    for name in want:
        g, w = got[name], want[name]
        assert g is not None and w is not None, f"{name}: missing"
        g, w = g.cpu(), w.cpu()
        assert not torch.isnan(g).any(), f"{name}: NaN in result"
        k = GRAD_LOOSER if name.startswith("grad") else 1
        torch.testing.assert_close(g.double(), w.double(), rtol=rtol * k, atol=atol * k, msg=lambda m: f"{name}: {m}")


def per_token(kw: dict) -> dict:
    """Time-invariant B and C written out per token, (batch, dim, dstate, seqlen), as a model without the
    time-invariant layout passes them: the oracle's form of the same problem (autograd sums their gradients)."""
    batch, _, seqlen = kw["u"].shape
    return dict(kw, **{k: kw[k][None, :, :, None].expand(batch, -1, -1, seqlen) for k in ("B", "C")})
