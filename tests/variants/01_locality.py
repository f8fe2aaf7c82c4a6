"""Chapter 01 (locality): correct implementations the hidden tests must accept (HONEST) and
realistic mistakes they must reject (WRONG), keyed by graded function."""

HONEST = {
    "fc_param_count": [
        """
def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    inputs, outputs = n_h * n_w, m_h * m_w
    return inputs * outputs + (outputs if bias else 0)
""",
        """
def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    # let PyTorch count, without allocating anything
    layer = nn.Linear(n_h * n_w, m_h * m_w, bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())
""",
        """
def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    print("counting", n_h, n_w, m_h, m_w)
    return math.prod((n_h, n_w, m_h, m_w)) + bias * m_h * m_w
""",
    ],
    "locally_connected_param_count": [
        """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    side = 2 * delta + 1
    return n_h * n_w * side * side + (n_h * n_w if bias else 0)
""",
        """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    total = 0
    for i in range(n_h):
        for j in range(n_w):
            total += (2 * delta + 1) ** 2 + int(bias)
    return total
""",
        """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    return float(n_h * n_w * ((2 * delta + 1) ** 2 + (1 if bias else 0)))
""",
    ],
    "conv_param_count": [
        """
def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    return c_in * c_out * (2 * delta + 1) ** 2 + (c_out if bias else 0)
""",
        """
def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    layer = nn.Conv2d(c_in, c_out, 2 * delta + 1, bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())
""",
        """
def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    per_output = c_in * (2 * delta + 1) ** 2 + (1 if bias else 0)
    return c_out * per_output
""",
    ],
    "shift2d": [
        # loops over the output cells, reading from where each one comes from
        """
def shift2d(X, dy, dx):
    h, w = X.shape
    Y = torch.zeros(h, w)
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                Y[i, j] = X[i - dy, j - dx]
    return Y
""",
        # frame with zeros, then crop; keeps the dtype
        """
def shift2d(X, dy, dx):
    h, w = X.shape
    dy, dx = max(-h, min(dy, h)), max(-w, min(dx, w))  # further out is all zeros too
    framed = torch.cat([X.new_zeros(h, w), X, X.new_zeros(h, w)], dim=0)
    framed = torch.cat([framed.new_zeros(3 * h, w), framed, framed.new_zeros(3 * h, w)], dim=1)
    return framed[h - dy:2 * h - dy, w - dx:2 * w - dx]
""",
        # torch.roll, then zero what wrapped around (on a copy)
        """
def shift2d(X, dy, dx):
    h, w = X.shape
    if abs(dy) >= h or abs(dx) >= w:
        return torch.zeros_like(X)
    Y = torch.roll(X, shifts=(dy, dx), dims=(0, 1))
    mask = torch.ones(h, w)
    if dy > 0:
        mask[:dy] = 0
    elif dy < 0:
        mask[h + dy:] = 0
    if dx > 0:
        mask[:, :dx] = 0
    elif dx < 0:
        mask[:, w + dx:] = 0
    print("shifted by", dy, dx)
    return Y * mask
""",
    ],
    "corr1d": [
        # the notes' corr2d loop, in one dimension
        """
def corr1d(x, k):
    w = k.shape[0]
    y = torch.zeros(x.shape[0] - w + 1)
    for i in range(y.shape[0]):
        y[i] = (x[i:i + w] * k).sum()
    return y
""",
        """
def corr1d(x, k):
    return x.unfold(0, k.shape[0], 1) @ k
""",
        """
def corr1d(x, k):
    m = len(k)
    return torch.stack([torch.dot(x[i:i + m], k) for i in range(len(x) - m + 1)])
""",
        """
def corr1d(x, k):
    import warnings
    warnings.warn("einsum on a strided view")
    m = k.shape[0]
    windows = x.as_strided((x.shape[0] - m + 1, m), (x.stride(0), x.stride(0)))
    return torch.einsum("im,m->i", windows, k)
""",
    ],
}

WRONG = {
    "fc_param_count": [
        ("forgot the biases", """
def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    return n_h * n_w * m_h * m_w
"""),
        ("one bias per input pixel", """
def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    return n_h * n_w * m_h * m_w + (n_h * n_w if bias else 0)
"""),
        ("ignores bias=False", """
def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    return n_h * n_w * m_h * m_w + m_h * m_w
"""),
        ("returns a tensor", """
def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    return torch.tensor(n_h * n_w * m_h * m_w + (m_h * m_w if bias else 0))
"""),
    ],
    "locally_connected_param_count": [
        ("4 delta squared window (the notes' erratum)", """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    return n_h * n_w * 4 * delta ** 2 + (n_h * n_w if bias else 0)
"""),
        ("weights shared between pixels", """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    return (2 * delta + 1) ** 2 + (n_h * n_w if bias else 0)
"""),
        ("one-dimensional window", """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    return n_h * n_w * (2 * delta + 1) + (n_h * n_w if bias else 0)
"""),
        ("a single bias", """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    return n_h * n_w * (2 * delta + 1) ** 2 + (1 if bias else 0)
"""),
        ("ignores bias=False", """
def locally_connected_param_count(n_h, n_w, delta, bias=True):
    return n_h * n_w * ((2 * delta + 1) ** 2 + 1)
"""),
    ],
    "conv_param_count": [
        ("forgot the input channels", """
def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    return c_out * (2 * delta + 1) ** 2 + (c_out if bias else 0)
"""),
        ("one bias per input channel", """
def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    return c_in * c_out * (2 * delta + 1) ** 2 + (c_in if bias else 0)
"""),
        ("one bias per channel pair", """
def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    return c_in * c_out * ((2 * delta + 1) ** 2 + (1 if bias else 0))
"""),
        ("4 delta squared window (the notes' erratum)", """
def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    return c_in * c_out * 4 * delta ** 2 + (c_out if bias else 0)
"""),
    ],
    "shift2d": [
        ("wraps around like torch.roll", """
def shift2d(X, dy, dx):
    return torch.roll(X, shifts=(dy, dx), dims=(0, 1))
"""),
        ("framed by one image of zeros: a shift beyond the size gives an empty tensor", """
def shift2d(X, dy, dx):
    h, w = X.shape
    framed = torch.cat([X.new_zeros(h, w), X, X.new_zeros(h, w)], dim=0)
    framed = torch.cat([framed.new_zeros(3 * h, w), framed, framed.new_zeros(3 * h, w)], dim=1)
    return framed[h - dy:2 * h - dy, w - dx:2 * w - dx]
"""),
        ("the size guard tests one axis only (or instead of and)", """
def shift2d(X, dy, dx):
    h, w = X.shape
    Y = torch.zeros_like(X)
    if abs(dy) < h or abs(dx) < w:
        Y[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            X[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return Y
"""),
        ("shifts the wrong way", """
def shift2d(X, dy, dx):
    h, w = X.shape
    Y = torch.zeros_like(X)
    for i in range(h):
        for j in range(w):
            if 0 <= i + dy < h and 0 <= j + dx < w:
                Y[i, j] = X[i + dy, j + dx]
    return Y
"""),
        ("dy and dx swapped", """
def shift2d(X, dy, dx):
    h, w = X.shape
    Y = torch.zeros_like(X)
    for i in range(h):
        for j in range(w):
            if 0 <= i - dx < h and 0 <= j - dy < w:
                Y[i, j] = X[i - dx, j - dy]
    return Y
"""),
        ("negative slice bounds break on a zero shift (X[:-0])", """
def shift2d(X, dy, dx):
    Y = torch.zeros_like(X)
    to_rows = slice(dy, None) if dy >= 0 else slice(None, dy)
    from_rows = slice(None, -dy) if dy >= 0 else slice(-dy, None)
    to_cols = slice(dx, None) if dx >= 0 else slice(None, dx)
    from_cols = slice(None, -dx) if dx >= 0 else slice(-dx, None)
    Y[to_rows, to_cols] = X[from_rows, from_cols]
    return Y
"""),
        ("shifts X in place", """
def shift2d(X, dy, dx):
    h, w = X.shape
    Y = torch.zeros_like(X)
    if abs(dy) < h and abs(dx) < w:
        Y[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \\
            X[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    X.copy_(Y)
    return X
"""),
        ("loses the gradient", """
def shift2d(X, dy, dx):
    h, w = X.shape
    rows = []
    for i in range(h):
        rows.append([X[i - dy, j - dx].item() if 0 <= i - dy < h and 0 <= j - dx < w else 0.0
                     for j in range(w)])
    return torch.tensor(rows)
"""),
    ],
    "corr1d": [
        ("kernel flipped (true convolution)", """
def corr1d(x, k):
    m = k.shape[0]
    k = torch.flip(k, dims=(0,))
    return torch.stack([(x[i:i + m] * k).sum() for i in range(x.shape[0] - m + 1)])
"""),
        ("one output too few", """
def corr1d(x, k):
    m = k.shape[0]
    return torch.stack([(x[i:i + m] * k).sum() for i in range(x.shape[0] - m)])
"""),
        ("only works for kernels of length 2", """
def corr1d(x, k):
    return x[:-1] * k[0] + x[1:] * k[1]
"""),
        ("calls F.conv1d", """
def corr1d(x, k):
    return F.conv1d(x[None, None], k[None, None])[0, 0]
"""),
        ("loses the gradient", """
def corr1d(x, k):
    m = k.shape[0]
    return torch.tensor([(x[i:i + m] * k).sum().item() for i in range(x.shape[0] - m + 1)])
"""),
    ],
}
