"""Chapter 03 (padding and stride): correct implementations the hidden tests must accept (HONEST)
and realistic mistakes they must reject (WRONG), keyed by graded function."""

HONEST = {
    "conv_output_shape": [
        # the defaults written as pairs
        """
def conv_output_shape(input_shape, kernel_size, padding=(0, 0), stride=(1, 1)):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_h - k_h + 2 * p_h + s_h) // s_h, (n_w - k_w + 2 * p_w + s_w) // s_w)
""",
        """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_h - k_h + 2 * p_h) // s_h + 1, (n_w - k_w + 2 * p_w) // s_w + 1)
""",
        """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    return tuple(math.floor((n - k + 2 * p + s) / s) for n, k, p, s in
                 zip(input_shape, pair(kernel_size), pair(padding), pair(stride)))
""",
        # count the window positions one by one
        """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    shape = []
    for n, k, p, s in zip(input_shape, pair(kernel_size), pair(padding), pair(stride)):
        starts, start = 0, 0
        while start + k <= n + 2 * p:
            starts += 1
            start += s
        shape.append(starts)
    print("output shape", shape)
    return tuple(shape)
""",
    ],
    "pad2d": [
        """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    Y = torch.zeros((h + 2 * p_h, w + 2 * p_w))
    Y[p_h:p_h + h, p_w:p_w + w] = X
    return Y
""",
        """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    side = X.new_zeros(h, p_w)
    X = torch.cat([side, X, side], dim=1)
    band = X.new_zeros(p_h, w + 2 * p_w)
    return torch.cat([band, X, band], dim=0)
""",
        # loops over the output cells, float64 kept
        """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    Y = torch.zeros((h + 2 * p_h, w + 2 * p_w), dtype=X.dtype)
    for i in range(h):
        for j in range(w):
            Y[i + p_h, j + p_w] = X[i, j]
    return Y
""",
    ],
    "corr2d_pad_stride": [
        # its own padding as an autograd Function: the backward pass cuts the padding off
        """
class ZeroPad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, p_h, p_w):
        ctx.padding = (p_h, p_w)
        Y = X.new_zeros((X.shape[0] + 2 * p_h, X.shape[1] + 2 * p_w))
        Y[p_h:p_h + X.shape[0], p_w:p_w + X.shape[1]] = X
        return Y

    @staticmethod
    def backward(ctx, grad):
        p_h, p_w = ctx.padding
        return grad[p_h:grad.shape[0] - p_h, p_w:grad.shape[1] - p_w], None, None


def corr2d_pad_stride(X, K, padding=0, stride=1):
    X = ZeroPad.apply(X, *pair(padding))
    s_h, s_w = pair(stride)
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - h) // s_h + 1, (X.shape[1] - w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * s_h:i * s_h + h, j * s_w:j * s_w + w] * K).sum()
    return Y
""",
        # the notes' corr2d loop, on the padded input, with strided window starts
        """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    X = pad2d(X, padding)
    s_h, s_w = pair(stride)
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - h) // s_h + 1, (X.shape[1] - w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * s_h:i * s_h + h, j * s_w:j * s_w + w] * K).sum()
    return Y
""",
        # unfold does the padding and the striding; a matrix-vector product does the rest
        """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    k_h, k_w = K.shape
    n_h, n_w = X.shape
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    columns = F.unfold(X[None, None], (k_h, k_w), padding=(p_h, p_w), stride=(s_h, s_w))[0]
    o_h = (n_h - k_h + 2 * p_h) // s_h + 1
    o_w = (n_w - k_w + 2 * p_w) // s_w + 1
    return (K.reshape(1, -1) @ columns).reshape(o_h, o_w)
""",
        # stride 1 everywhere with einsum on a strided view, then keep every s-th output
        """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    import warnings
    warnings.warn("computing every window, then subsampling")
    X = pad2d(X, padding)
    s_h, s_w = pair(stride)
    k_h, k_w = K.shape
    windows = X.unfold(0, k_h, 1).unfold(1, k_w, 1)  # (o_h, o_w, k_h, k_w) at stride 1
    full = torch.einsum("ijab,ab->ij", windows, K)
    return full[::s_h, ::s_w]
""",
    ],
    "same_padding": [
        """
def same_padding(kernel_size):
    return (kernel_size // 2, (kernel_size - 1) // 2)
""",
        """
def same_padding(kernel_size):
    total = kernel_size - 1
    return (math.ceil(total / 2), math.floor(total / 2))
""",
        """
def same_padding(kernel_size):
    if kernel_size % 2 == 1:
        p = (kernel_size - 1) // 2
        return (p, p)
    return (kernel_size // 2, kernel_size // 2 - 1)
""",
    ],
    "mirror_pad2d": [
        """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    X = torch.cat([X[1:p_h + 1].flip(0), X, X[h - p_h - 1:h - 1].flip(0)], dim=0)
    return torch.cat([X[:, 1:p_w + 1].flip(1), X, X[:, w - p_w - 1:w - 1].flip(1)], dim=1)
""",
        # reflected index tensors: position -i maps to i, position n - 1 + i to n - 1 - i
        """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    rows = torch.arange(-p_h, h + p_h).abs()
    rows = torch.where(rows > h - 1, 2 * (h - 1) - rows, rows)
    cols = torch.arange(-p_w, w + p_w).abs()
    cols = torch.where(cols > w - 1, 2 * (w - 1) - cols, cols)
    return X[rows][:, cols]
""",
        # loops over the output cells, float64 kept
        """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape

    def reflect(i, n):
        i = abs(i)
        return 2 * (n - 1) - i if i > n - 1 else i

    Y = torch.zeros((h + 2 * p_h, w + 2 * p_w), dtype=X.dtype)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = X[reflect(i - p_h, h), reflect(j - p_w, w)]
    print("mirror padded", tuple(Y.shape))
    return Y
""",
    ],
}

WRONG = {
    "conv_output_shape": [
        ("default padding 1 (the notes' first example)", """
def conv_output_shape(input_shape, kernel_size, padding=1, stride=1):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_h - k_h + 2 * p_h + s_h) // s_h, (n_w - k_w + 2 * p_w + s_w) // s_w)
"""),
        ("default stride 2", """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=2):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_h - k_h + 2 * p_h + s_h) // s_h, (n_w - k_w + 2 * p_w + s_w) // s_w)
"""),
        ("padding counted once (the notes' total p_h)", """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_h - k_h + p_h + s_h) // s_h, (n_w - k_w + p_w + s_w) // s_w)
"""),
        ("ceil instead of floor", """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return (math.ceil((n_h - k_h + 2 * p_h + s_h) / s_h),
            math.ceil((n_w - k_w + 2 * p_w + s_w) / s_w))
"""),
        ("forgot + s", """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_h - k_h + 2 * p_h) // s_h, (n_w - k_w + 2 * p_w) // s_w)
"""),
        ("true division", """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_h - k_h + 2 * p_h + s_h) / s_h, (n_w - k_w + 2 * p_w + s_w) / s_w)
"""),
        ("height and width swapped", """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    (n_h, n_w), (k_h, k_w) = input_shape, pair(kernel_size)
    (p_h, p_w), (s_h, s_w) = pair(padding), pair(stride)
    return ((n_w - k_w + 2 * p_w + s_w) // s_w, (n_h - k_h + 2 * p_h + s_h) // s_h)
"""),
        ("runs a convolution to measure the shape", """
def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    X = torch.zeros((1, 1) + tuple(input_shape))
    K = torch.zeros((1, 1) + pair(kernel_size))
    return tuple(F.conv2d(X, K, padding=padding, stride=stride).shape[2:])
"""),
    ],
    "pad2d": [
        ("padding on one side only", """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    Y = torch.zeros((h + p_h, w + p_w))
    Y[p_h:, p_w:] = X
    return Y
"""),
        ("padding split in half (the notes' total)", """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    p_h, p_w = p_h // 2, p_w // 2
    h, w = X.shape
    Y = torch.zeros((h + 2 * p_h, w + 2 * p_w))
    Y[p_h:p_h + h, p_w:p_w + w] = X
    return Y
"""),
        ("Y[p:-p] breaks for padding 0", """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    Y = torch.zeros((h + 2 * p_h, w + 2 * p_w))
    Y[p_h:-p_h, p_w:-p_w] = X
    return Y
"""),
        ("(p_h, p_w) swapped", """
def pad2d(X, padding):
    p_w, p_h = pair(padding)
    h, w = X.shape
    Y = torch.zeros((h + 2 * p_h, w + 2 * p_w))
    Y[p_h:p_h + h, p_w:p_w + w] = X
    return Y
"""),
        ("calls F.pad", """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    return F.pad(X, (p_w, p_w, p_h, p_h))
"""),
        ("loses the gradient", """
def pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    rows = [[0.0] * (w + 2 * p_w) for _ in range(p_h)]
    rows += [[0.0] * p_w + row + [0.0] * p_w for row in X.tolist()]
    rows += [[0.0] * (w + 2 * p_w) for _ in range(p_h)]
    return torch.tensor(rows)
"""),
    ],
    "corr2d_pad_stride": [
        ("kernel flipped", """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    X = pad2d(X, padding)
    K = torch.flip(K, dims=(0, 1))
    s_h, s_w = pair(stride)
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - h) // s_h + 1, (X.shape[1] - w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * s_h:i * s_h + h, j * s_w:j * s_w + w] * K).sum()
    return Y
"""),
        ("stride (s_h, s_w) swapped", """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    X = pad2d(X, padding)
    s_w, s_h = pair(stride)
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - h) // s_h + 1, (X.shape[1] - w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * s_h:i * s_h + h, j * s_w:j * s_w + w] * K).sum()
    return Y
"""),
        ("padding on one side only", """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    p_h, p_w = pair(padding)
    padded = torch.zeros((X.shape[0] + p_h, X.shape[1] + p_w))
    padded[p_h:, p_w:] = X
    X = padded
    s_h, s_w = pair(stride)
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - h) // s_h + 1, (X.shape[1] - w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * s_h:i * s_h + h, j * s_w:j * s_w + w] * K).sum()
    return Y
"""),
        ("ceil output size: the last window hangs over the edge", """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    X = pad2d(X, padding)
    s_h, s_w = pair(stride)
    h, w = K.shape
    Y = torch.zeros((math.ceil((X.shape[0] - h) / s_h) + 1,
                     math.ceil((X.shape[1] - w) / s_w) + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i * s_h:i * s_h + h, j * s_w:j * s_w + w]
            Y[i, j] = (window * K[:window.shape[0], :window.shape[1]]).sum()
    return Y
"""),
        ("stride applied to the rows only", """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    X = pad2d(X, padding)
    s_h, s_w = pair(stride)
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - h) // s_h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * s_h:i * s_h + h, j:j + w] * K).sum()
    return Y
"""),
        ("its backward pass fails when a padding is 0 (grad[p:-p] is empty)", """
class ZeroPad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, p_h, p_w):
        ctx.padding = (p_h, p_w)
        Y = X.new_zeros((X.shape[0] + 2 * p_h, X.shape[1] + 2 * p_w))
        Y[p_h:p_h + X.shape[0], p_w:p_w + X.shape[1]] = X
        return Y

    @staticmethod
    def backward(ctx, grad):
        p_h, p_w = ctx.padding
        return grad[p_h:-p_h, p_w:-p_w], None, None


def corr2d_pad_stride(X, K, padding=0, stride=1):
    X = ZeroPad.apply(X, *pair(padding))
    s_h, s_w = pair(stride)
    h, w = K.shape
    Y = torch.zeros(((X.shape[0] - h) // s_h + 1, (X.shape[1] - w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * s_h:i * s_h + h, j * s_w:j * s_w + w] * K).sum()
    return Y
"""),
        ("calls F.conv2d", """
def corr2d_pad_stride(X, K, padding=0, stride=1):
    return F.conv2d(X[None, None], K[None, None], padding=padding, stride=stride)[0, 0]
"""),
    ],
    "same_padding": [
        ("extra row after (PyTorch's padding='same')", """
def same_padding(kernel_size):
    return ((kernel_size - 1) // 2, kernel_size // 2)
"""),
        ("k // 2 on both sides", """
def same_padding(kernel_size):
    return (kernel_size // 2, kernel_size // 2)
"""),
        ("(k - 1) // 2 on both sides", """
def same_padding(kernel_size):
    return ((kernel_size - 1) // 2, (kernel_size - 1) // 2)
"""),
        ("true division", """
def same_padding(kernel_size):
    return ((kernel_size - 1) / 2, (kernel_size - 1) / 2)
"""),
        ("returns the total", """
def same_padding(kernel_size):
    return kernel_size - 1
"""),
    ],
    "mirror_pad2d": [
        ("edge repeated (symmetric padding)", """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    X = torch.cat([X[:p_h].flip(0), X, X[h - p_h:].flip(0)], dim=0)
    return torch.cat([X[:, :p_w].flip(1), X, X[:, w - p_w:].flip(1)], dim=1)
"""),
        ("reflected rows not flipped", """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    X = torch.cat([X[1:p_h + 1], X, X[h - p_h - 1:h - 1]], dim=0)
    return torch.cat([X[:, 1:p_w + 1], X, X[:, w - p_w - 1:w - 1]], dim=1)
"""),
        ("corners left at zero", """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    Y = torch.zeros((h + 2 * p_h, w + 2 * p_w))
    Y[p_h:p_h + h, p_w:p_w + w] = X
    Y[:p_h, p_w:p_w + w] = X[1:p_h + 1].flip(0)
    Y[p_h + h:, p_w:p_w + w] = X[h - p_h - 1:h - 1].flip(0)
    Y[p_h:p_h + h, :p_w] = X[:, 1:p_w + 1].flip(1)
    Y[p_h:p_h + h, p_w + w:] = X[:, w - p_w - 1:w - 1].flip(1)
    return Y
"""),
        ("edge replicated", """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    h, w = X.shape
    X = torch.cat([X[:1].expand(p_h, w), X, X[-1:].expand(p_h, w)], dim=0)
    return torch.cat([X[:, :1].expand(-1, p_w), X, X[:, -1:].expand(-1, p_w)], dim=1)
"""),
        ("(p_h, p_w) swapped", """
def mirror_pad2d(X, padding):
    p_w, p_h = pair(padding)
    h, w = X.shape
    X = torch.cat([X[1:p_h + 1].flip(0), X, X[h - p_h - 1:h - 1].flip(0)], dim=0)
    return torch.cat([X[:, 1:p_w + 1].flip(1), X, X[:, w - p_w - 1:w - 1].flip(1)], dim=1)
"""),
        ("calls F.pad(mode='reflect')", """
def mirror_pad2d(X, padding):
    p_h, p_w = pair(padding)
    return F.pad(X[None], (p_w, p_w, p_h, p_h), mode="reflect")[0]
"""),
    ],
}
