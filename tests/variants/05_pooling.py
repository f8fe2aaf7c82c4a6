"""Honest and wrong implementations of chapter 05's graded functions (pooling).

HONEST variants must pass their function's test cell; each WRONG one, a mistake a tired student
makes, must fail it. The first WRONG entry of each function is also graded by nbgrader itself.
"""

HONEST = {
    "pool2d": [
        # The notes' code, with the unknown mode rejected first.
        """def pool2d(X, pool_size, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode == 'avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y""",
        # Sliding windows with Tensor.unfold; keeps float64; the error comes last.
        """def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    windows = X.unfold(0, p_h, 1).unfold(1, p_w, 1)
    if mode == 'max':
        return windows.amax(dim=(-2, -1))
    if mode == 'avg':
        return windows.mean(dim=(-2, -1))
    raise ValueError(f"unknown mode {mode}")""",
        # Loops that sum the window by hand, printing and warning as they go.
        """def pool2d(X, pool_size, mode='max'):
    import warnings
    if mode not in ('max', 'avg'):
        raise ValueError('mode must be max or avg')
    warnings.warn("a loop implementation is slow")
    p_h, p_w = pool_size
    rows = []
    for i in range(X.shape[0] - p_h + 1):
        row = []
        for j in range(X.shape[1] - p_w + 1):
            window = X[i:i + p_h, j:j + p_w]
            row.append(window.max() if mode == 'max' else window.sum() / (p_h * p_w))
        rows.append(torch.stack(row))
    print("pooled", len(rows), "rows")
    return torch.stack(rows)""",
    ],
    "pool2d_pad_stride": [
        # Pad with -inf (max) or 0 (avg), then loop.
        """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = torch.full((h + 2 * q_h, w + 2 * q_w), fill, dtype=X.dtype)
    padded[q_h:q_h + h, q_w:q_w + w] = X
    Y = torch.zeros(((padded.shape[0] - p_h) // s_h + 1, (padded.shape[1] - p_w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = padded[i * s_h:i * s_h + p_h, j * s_w:j * s_w + p_w]
            Y[i, j] = window.max() if mode == 'max' else window.sum() / (p_h * p_w)
    return Y""",
        # No padding at all: clip each window to the input; avg still divides by the window size.
        """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(stride) if stride is not None else (p_h, p_w)
    q_h, q_w = pair(padding)
    h, w = X.shape
    o_h = (h + 2 * q_h - p_h) // s_h + 1
    o_w = (w + 2 * q_w - p_w) // s_w + 1
    Y = X.new_zeros((o_h, o_w))
    for i in range(o_h):
        for j in range(o_w):
            top, left = i * s_h - q_h, j * s_w - q_w
            window = X[max(top, 0):min(top + p_h, h), max(left, 0):min(left + p_w, w)]
            Y[i, j] = window.max() if mode == 'max' else window.sum() / (p_h * p_w)
    return Y""",
        # im2col with F.unfold on a manually padded input.
        """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    fill = -math.inf if mode == 'max' else 0.0
    rows = torch.full((q_h, w), fill, dtype=X.dtype)
    X = torch.cat([rows, X, rows], 0)
    cols = torch.full((h + 2 * q_h, q_w), fill, dtype=X.dtype)
    X = torch.cat([cols, X, cols], 1)
    columns = F.unfold(X[None, None], (p_h, p_w), stride=(s_h, s_w))[0]
    Y = columns.amax(0) if mode == 'max' else columns.mean(0)
    return Y.reshape((X.shape[0] - p_h) // s_h + 1, (X.shape[1] - p_w) // s_w + 1)""",
    ],
    "pool2d_multi_channel": [
        # One channel at a time.
        """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    return torch.stack([pool2d_pad_stride(x, pool_size, stride, padding, mode) for x in X])""",
        # All channels at once with Tensor.unfold over the two spatial axes.
        """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(f"unknown mode {mode!r}")
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    c, h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = X.new_full((c, h + 2 * q_h, w + 2 * q_w), fill)
    padded[:, q_h:q_h + h, q_w:q_w + w] = X
    windows = padded.unfold(1, p_h, s_h).unfold(2, p_w, s_w)
    if mode == 'max':
        return windows.amax(dim=(-2, -1))
    return windows.sum(dim=(-2, -1)) / (p_h * p_w)""",
        # A preallocated output filled channel by channel, float64 kept.
        """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    first = pool2d_pad_stride(X[0], pool_size, stride, padding, mode)
    Y = X.new_zeros((X.shape[0],) + tuple(first.shape))
    for c in range(X.shape[0]):
        Y[c] = pool2d_pad_stride(X[c], pool_size, stride, padding, mode)
    return Y""",
    ],
    "avg_pool_as_conv": [
        # A grouped convolution: one (1, p_h, p_w) kernel per channel.
        """def avg_pool_as_conv(X, pool_size):
    c = X.shape[0]
    p_h, p_w = pair(pool_size)
    K = torch.full((c, 1, p_h, p_w), 1.0 / (p_h * p_w), dtype=X.dtype)
    return F.conv2d(X.unsqueeze(0), K, stride=(p_h, p_w), groups=c).squeeze(0)""",
        # Channels as a batch of one-channel images.
        """def avg_pool_as_conv(X, pool_size):
    p_h, p_w = pool_size
    K = torch.ones((1, 1, p_h, p_w), dtype=X.dtype) / (p_h * p_w)
    return F.conv2d(X[:, None], K, stride=pool_size)[:, 0]""",
        # A full c x c kernel that is zero off the diagonal.
        """def avg_pool_as_conv(X, pool_size):
    c = X.shape[0]
    p_h, p_w = pool_size
    K = X.new_zeros((c, c, p_h, p_w))
    for i in range(c):
        K[i, i] = 1.0 / (p_h * p_w)
    return F.conv2d(X[None], K, stride=(p_h, p_w))[0]""",
    ],
    "max_via_relu": [
        """def max_via_relu(a, b):
    return b + torch.relu(a - b)""",
        """def max_via_relu(a, b):
    return a + F.relu(b - a)""",
        # The symmetric form (a + b + |a - b|) / 2 with |x| = relu(x) + relu(-x).
        """def max_via_relu(a, b):
    print("a and b:", a.shape, b.shape)
    return (a + b + torch.relu(a - b) + torch.relu(b - a)) / 2""",
        """def max_via_relu(a, b):
    return 0.5 * (a + b) + 0.5 * (nn.ReLU()(a - b) + nn.ReLU()(-(a - b)))""",
    ],
}

WRONG = {
    "pool2d": [
        ("window height and width swapped", """def pool2d(X, pool_size, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_w, p_h = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i:i + p_h, j:j + p_w]
            Y[i, j] = window.max() if mode == 'max' else window.mean()
    return Y"""),
        ("notes' version: an unknown mode returns zeros", """def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode =='avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y"""),
        ("running maximum starts at 0", """def pool2d(X, pool_size, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'avg':
                Y[i, j] = X[i:i + p_h, j:j + p_w].mean()
                continue
            best = 0.0
            for a in range(p_h):
                for b in range(p_w):
                    if X[i + a, j + b] > best:
                        best = X[i + a, j + b]
            Y[i, j] = best
    return Y"""),
        ("sum instead of mean", """def pool2d(X, pool_size, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pool_size
    windows = X.unfold(0, p_h, 1).unfold(1, p_w, 1)
    return windows.amax(dim=(-2, -1)) if mode == 'max' else windows.sum(dim=(-2, -1))"""),
        ("stride equal to the window", """def pool2d(X, pool_size, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pool_size
    windows = X.unfold(0, p_h, p_h).unfold(1, p_w, p_w)
    return windows.amax(dim=(-2, -1)) if mode == 'max' else windows.mean(dim=(-2, -1))"""),
        ("calls F.max_pool2d", """def pool2d(X, pool_size, mode='max'):
    if mode == 'max':
        return F.max_pool2d(X[None, None], pool_size, stride=1)[0, 0]
    if mode == 'avg':
        return F.avg_pool2d(X[None, None], pool_size, stride=1)[0, 0]
    raise ValueError(mode)"""),
    ],
    "pool2d_pad_stride": [
        ("max pooling pads with zeros", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    padded = torch.zeros((h + 2 * q_h, w + 2 * q_w), dtype=X.dtype)
    padded[q_h:q_h + h, q_w:q_w + w] = X
    windows = padded.unfold(0, p_h, s_h).unfold(1, p_w, s_w)
    return windows.amax(dim=(-2, -1)) if mode == 'max' else windows.mean(dim=(-2, -1))"""),
        ("average ignores the padded cells (count_include_pad=False)", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    o_h = (h + 2 * q_h - p_h) // s_h + 1
    o_w = (w + 2 * q_w - p_w) // s_w + 1
    Y = torch.zeros((o_h, o_w))
    for i in range(o_h):
        for j in range(o_w):
            top, left = i * s_h - q_h, j * s_w - q_w
            window = X[max(top, 0):min(top + p_h, h), max(left, 0):min(left + p_w, w)]
            Y[i, j] = window.max() if mode == 'max' else window.mean()
    return Y"""),
        ("stride defaults to 1", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(1 if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = torch.full((h + 2 * q_h, w + 2 * q_w), fill, dtype=X.dtype)
    padded[q_h:q_h + h, q_w:q_w + w] = X
    windows = padded.unfold(0, p_h, s_h).unfold(1, p_w, s_w)
    return windows.amax(dim=(-2, -1)) if mode == 'max' else windows.mean(dim=(-2, -1))"""),
        ("ceil instead of floor", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    o_h = math.ceil((h + 2 * q_h - p_h) / s_h) + 1
    o_w = math.ceil((w + 2 * q_w - p_w) / s_w) + 1
    Y = torch.zeros((o_h, o_w))
    for i in range(o_h):
        for j in range(o_w):
            top, left = i * s_h - q_h, j * s_w - q_w
            window = X[max(top, 0):min(top + p_h, h), max(left, 0):min(left + p_w, w)]
            Y[i, j] = window.max() if mode == 'max' else window.sum() / (p_h * p_w)
    return Y"""),
        ("padding only at the bottom and right", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = torch.full((h + 2 * q_h, w + 2 * q_w), fill, dtype=X.dtype)
    padded[:h, :w] = X
    windows = padded.unfold(0, p_h, s_h).unfold(1, p_w, s_w)
    return windows.amax(dim=(-2, -1)) if mode == 'max' else windows.mean(dim=(-2, -1))"""),
        ("padding and stride pairs read as (w, h)", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_w, s_h = pair(pool_size if stride is None else stride)
    q_w, q_h = pair(padding)
    h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = torch.full((h + 2 * q_h, w + 2 * q_w), fill, dtype=X.dtype)
    padded[q_h:q_h + h, q_w:q_w + w] = X
    windows = padded.unfold(0, p_h, s_h).unfold(1, p_w, s_w)
    return windows.amax(dim=(-2, -1)) if mode == 'max' else windows.mean(dim=(-2, -1))"""),
        ("loses the gradient (.item())", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = torch.full((h + 2 * q_h, w + 2 * q_w), fill, dtype=X.dtype)
    padded[q_h:q_h + h, q_w:q_w + w] = X
    windows = padded.unfold(0, p_h, s_h).unfold(1, p_w, s_w)
    pooled = windows.amax(dim=(-2, -1)) if mode == 'max' else windows.mean(dim=(-2, -1))
    return torch.tensor([[v.item() for v in row] for row in pooled])"""),
        ("calls F.max_pool2d", """def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    if mode == 'max':
        return F.max_pool2d(X[None, None], pool_size, stride, padding)[0, 0]
    if mode == 'avg':
        return F.avg_pool2d(X[None, None], pool_size, stride, padding)[0, 0]
    raise ValueError(mode)"""),
    ],
    "pool2d_multi_channel": [
        ("pooled across channels (window spans all channels)", """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    c, h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = X.new_full((c, h + 2 * q_h, w + 2 * q_w), fill)
    padded[:, q_h:q_h + h, q_w:q_w + w] = X
    windows = padded.unfold(1, p_h, s_h).unfold(2, p_w, s_w)
    pooled = windows.amax(dim=(0, -2, -1)) if mode == 'max' else windows.mean(dim=(0, -2, -1))
    return pooled.expand(c, -1, -1)"""),
        ("accepts an unknown mode (anything but 'max' averages)", """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    c, h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = X.new_full((c, h + 2 * q_h, w + 2 * q_w), fill)
    padded[:, q_h:q_h + h, q_w:q_w + w] = X
    windows = padded.unfold(1, p_h, s_h).unfold(2, p_w, s_w)
    if mode == 'max':
        return windows.amax(dim=(-2, -1))
    return windows.sum(dim=(-2, -1)) / (p_h * p_w)"""),
        ("channels flattened into rows", """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    c, h, w = X.shape
    pooled = pool2d_pad_stride(X.reshape(c * h, w), pool_size, stride, padding, mode)
    return pooled.reshape(c, -1, pooled.shape[1])"""),
        ("stride defaults to 1", """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    stride = 1 if stride is None else stride
    return torch.stack([pool2d_pad_stride(x, pool_size, stride, padding, mode) for x in X])"""),
        ("concatenated instead of stacked", """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    return torch.cat([pool2d_pad_stride(x, pool_size, stride, padding, mode) for x in X])"""),
        ("squeezes a single channel", """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    return torch.stack([pool2d_pad_stride(x, pool_size, stride, padding, mode) for x in X]).squeeze(0)"""),
        ("calls F.max_pool2d", """def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    pool = F.max_pool2d if mode == 'max' else F.avg_pool2d
    return pool(X[None], pool_size, stride, padding)[0]"""),
    ],
    "avg_pool_as_conv": [
        ("no groups: channels summed", """def avg_pool_as_conv(X, pool_size):
    c = X.shape[0]
    p_h, p_w = pool_size
    K = torch.full((c, c, p_h, p_w), 1.0 / (p_h * p_w), dtype=X.dtype)
    return F.conv2d(X[None], K, stride=(p_h, p_w))[0]"""),
        ("kernel of ones (sum pooling)", """def avg_pool_as_conv(X, pool_size):
    c = X.shape[0]
    K = torch.ones((c, 1) + tuple(pool_size), dtype=X.dtype)
    return F.conv2d(X[None], K, stride=pool_size, groups=c)[0]"""),
        ("forgot the stride", """def avg_pool_as_conv(X, pool_size):
    c = X.shape[0]
    p_h, p_w = pool_size
    K = torch.full((c, 1, p_h, p_w), 1.0 / (p_h * p_w), dtype=X.dtype)
    return F.conv2d(X[None], K, groups=c)[0]"""),
        ("kernel height and width swapped", """def avg_pool_as_conv(X, pool_size):
    c = X.shape[0]
    p_h, p_w = pool_size
    K = torch.full((c, 1, p_w, p_h), 1.0 / (p_h * p_w), dtype=X.dtype)
    return F.conv2d(X[None], K, stride=(p_w, p_h), groups=c)[0]"""),
        ("float32 kernel for any input", """def avg_pool_as_conv(X, pool_size):
    c = X.shape[0]
    p_h, p_w = pool_size
    K = torch.full((c, 1, p_h, p_w), 1.0 / (p_h * p_w))
    return F.conv2d(X[None], K, stride=(p_h, p_w), groups=c)[0]"""),
        ("calls F.avg_pool2d", """def avg_pool_as_conv(X, pool_size):
    return F.avg_pool2d(X[None], pool_size)[0]"""),
    ],
    "max_via_relu": [
        ("relu(a) + relu(b)", """def max_via_relu(a, b):
    return torch.relu(a) + torch.relu(b)"""),
        ("the minimum: a - relu(a - b)", """def max_via_relu(a, b):
    return a - torch.relu(a - b)"""),
        ("only half of the symmetric form", """def max_via_relu(a, b):
    return (a + b) / 2 + torch.relu(a - b) / 2"""),
        ("relu(a - b) + relu(b)", """def max_via_relu(a, b):
    return torch.relu(a - b) + torch.relu(b)"""),
        ("torch.maximum", """def max_via_relu(a, b):
    return torch.maximum(a, b)"""),
        ("torch.where", """def max_via_relu(a, b):
    return torch.where(a > b, a, b)"""),
        ("clamp instead of relu", """def max_via_relu(a, b):
    return b + torch.clamp(a - b, min=0)"""),
    ],
}
