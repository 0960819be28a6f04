import torch

from autograph_rec.train.utils import make_adam


def test_make_adam_is_fused_on_cpu_and_matches_default_adam():
    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(20, 8))
    b = torch.nn.Parameter(a.detach().clone())
    frozen = torch.nn.Parameter(torch.randn(3), requires_grad=False)
    fused, plain = make_adam([a, frozen], lr=0.01), torch.optim.Adam([b], lr=0.01)
    assert fused.defaults["fused"] is True
    assert len(fused.param_groups[0]["params"]) == 1  # frozen parameters are left out
    for step in range(5):
        grad = torch.randn(20, 8, generator=torch.Generator().manual_seed(step))
        a.grad, b.grad = grad.clone(), grad.clone()
        fused.step()
        plain.step()
    torch.testing.assert_close(a, b)


def test_make_adam_falls_back_where_no_fused_kernel_exists():
    p = torch.nn.Parameter(torch.randn(4, 2, dtype=torch.float64).to(torch.complex128))
    opt = make_adam([p], lr=0.01)  # complex parameters have no fused kernel
    p.grad = torch.ones_like(p)
    opt.step()
    assert not opt.defaults.get("fused")
