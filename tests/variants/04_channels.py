"""Honest and wrong implementations of chapter 04's graded functions (multiple channels).

HONEST variants must pass their function's test cell; each WRONG one, a mistake a tired student
makes, must fail it. The first WRONG entry of each function is also graded by nbgrader itself.
"""

HONEST = {
    "corr2d_multi_in": [
        # The notes' code.
        """def corr2d_multi_in(X, K):
    return sum(d2l.corr2d(x, k) for (x, k) in zip(X, K))""",
        # Loops over positions, the whole (c_i, k_h, k_w) window at once; keeps float64.
        """def corr2d_multi_in(X, K):
    c_i, k_h, k_w = K.shape
    Y = X.new_zeros((X.shape[1] - k_h + 1, X.shape[2] - k_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[:, i:i + k_h, j:j + k_w] * K).sum()
    return Y""",
        # im2col with F.unfold and one matrix product.
        """def corr2d_multi_in(X, K):
    c_i, k_h, k_w = K.shape
    columns = F.unfold(X.unsqueeze(0), (k_h, k_w))[0]
    Y = K.reshape(1, -1) @ columns
    return Y.reshape(X.shape[1] - k_h + 1, X.shape[2] - k_w + 1)""",
        # Sliding windows with Tensor.unfold and einsum, printing as it goes.
        """def corr2d_multi_in(X, K):
    c_i, k_h, k_w = K.shape
    windows = X.unfold(1, k_h, 1).unfold(2, k_w, 1)
    print("windows:", tuple(windows.shape))
    return torch.einsum('cijab,cab->ij', windows, K)""",
    ],
    "corr2d_multi_in_out": [
        # The notes' code.
        """def corr2d_multi_in_out(X, K):
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)""",
        # Fills a preallocated output, one output channel at a time.
        """def corr2d_multi_in_out(X, K):
    c_o, c_i, k_h, k_w = K.shape
    Y = torch.zeros((c_o, X.shape[1] - k_h + 1, X.shape[2] - k_w + 1), dtype=X.dtype)
    for o in range(c_o):
        for c in range(c_i):
            Y[o] += d2l.corr2d(X[c], K[o, c])
    return Y""",
        # im2col: all output channels in one matrix product.
        """def corr2d_multi_in_out(X, K):
    c_o, c_i, k_h, k_w = K.shape
    columns = F.unfold(X.unsqueeze(0), (k_h, k_w))[0]
    Y = K.reshape(c_o, -1) @ columns
    return Y.reshape(c_o, X.shape[1] - k_h + 1, X.shape[2] - k_w + 1)""",
    ],
    "corr2d_multi_in_out_1x1": [
        # The notes' code.
        """def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    X = X.reshape((c_i, h * w))
    K = K.reshape((c_o, c_i))
    Y = torch.matmul(K, X)
    return Y.reshape((c_o, h, w))""",
        # einsum.
        """def corr2d_multi_in_out_1x1(X, K):
    return torch.einsum('oc,chw->ohw', K[:, :, 0, 0], X)""",
        # Pixels as rows instead of columns: X^T K^T, then back to (c_o, h, w).
        """def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    pixels = X.permute(1, 2, 0).reshape(h * w, c_i)
    Y = pixels @ K.reshape(K.shape[0], c_i).T
    return Y.T.reshape(-1, h, w)""",
    ],
    "conv2d_param_count": [
        """def conv2d_param_count(c_i, c_o, k_h, k_w, bias=True):
    return c_o * c_i * k_h * k_w + (c_o if bias else 0)""",
        # Counts per output channel, as a float.
        """def conv2d_param_count(c_i, c_o, k_h, k_w, bias=True):
    per_output_channel = c_i * k_h * k_w + int(bias)
    return float(c_o * per_output_channel)""",
    ],
    "conv2d_macs": [
        """def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    p_h, p_w = pair(padding)
    s_h, s_w = pair(stride)
    o_h = (n_h - k_h + 2 * p_h + s_h) // s_h
    o_w = (n_w - k_w + 2 * p_w + s_w) // s_w
    return c_o * o_h * o_w * c_i * k_h * k_w""",
        # The equivalent form (n + 2p - k) // s + 1 with math.floor on a true division.
        """def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    padding = padding if isinstance(padding, tuple) else (padding, padding)
    stride = stride if isinstance(stride, tuple) else (stride, stride)
    o_h = math.floor((n_h + 2 * padding[0] - k_h) / stride[0]) + 1
    o_w = math.floor((n_w + 2 * padding[1] - k_w) / stride[1]) + 1
    return o_h * o_w * c_o * c_i * k_h * k_w""",
    ],
    "compose_kernels": [
        # Spread K1 by every entry of K2.
        """def compose_kernels(K1, K2):
    k1_h, k1_w = K1.shape
    k2_h, k2_w = K2.shape
    K = torch.zeros((k1_h + k2_h - 1, k1_w + k2_w - 1))
    for u in range(k2_h):
        for v in range(k2_w):
            K[u:u + k1_h, v:v + k1_w] += K2[u, v] * K1
    return K""",
        # Spread K2 by every entry of K1 (the composition is a full convolution: it commutes).
        """def compose_kernels(K1, K2):
    K = K1.new_zeros((K1.shape[0] + K2.shape[0] - 1, K1.shape[1] + K2.shape[1] - 1))
    for a in range(K1.shape[0]):
        for b in range(K1.shape[1]):
            K[a:a + K2.shape[0], b:b + K2.shape[1]] += K1[a, b] * K2
    return K""",
        # Correlate the zero-padded K1 with K2 flipped.
        """def compose_kernels(K1, K2):
    k2_h, k2_w = K2.shape
    padded = torch.zeros((K1.shape[0] + 2 * (k2_h - 1), K1.shape[1] + 2 * (k2_w - 1)))
    padded[k2_h - 1:k2_h - 1 + K1.shape[0], k2_w - 1:k2_w - 1 + K1.shape[1]] = K1
    return d2l.corr2d(padded, torch.flip(K2, dims=(0, 1)))""",
    ],
}

WRONG = {
    "corr2d_multi_in": [
        ("stacked channels instead of summing", """def corr2d_multi_in(X, K):
    return torch.stack([d2l.corr2d(x, k) for (x, k) in zip(X, K)])"""),
        ("averaged the channels", """def corr2d_multi_in(X, K):
    return torch.stack([d2l.corr2d(x, k) for (x, k) in zip(X, K)]).mean(0)"""),
        ("kernel flipped", """def corr2d_multi_in(X, K):
    return sum(d2l.corr2d(x, torch.flip(k, dims=(0, 1))) for (x, k) in zip(X, K))"""),
        ("channels paired in reverse order", """def corr2d_multi_in(X, K):
    return sum(d2l.corr2d(x, k) for (x, k) in zip(X, torch.flip(K, dims=(0,))))"""),
        ("only the first channel", """def corr2d_multi_in(X, K):
    return d2l.corr2d(X[0], K[0])"""),
        ("calls F.conv2d", """def corr2d_multi_in(X, K):
    return F.conv2d(X.unsqueeze(0), K.unsqueeze(0))[0, 0]"""),
    ],
    "corr2d_multi_in_out": [
        ("concatenated instead of stacked", """def corr2d_multi_in_out(X, K):
    return torch.cat([corr2d_multi_in(X, k) for k in K], 0)"""),
        ("loops over input channels of K", """def corr2d_multi_in_out(X, K):
    return torch.stack([corr2d_multi_in(X, k) for k in K.transpose(0, 1)], 0)"""),
        ("summed the output channels too", """def corr2d_multi_in_out(X, K):
    return sum(corr2d_multi_in(X, k) for k in K)"""),
        ("squeezes a single output channel", """def corr2d_multi_in_out(X, K):
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0).squeeze(0)"""),
        ("kernel flipped", """def corr2d_multi_in_out(X, K):
    return torch.stack([corr2d_multi_in(X, torch.flip(k, dims=(1, 2))) for k in K], 0)"""),
        ("calls F.conv2d", """def corr2d_multi_in_out(X, K):
    return F.conv2d(X.unsqueeze(0), K)[0]"""),
    ],
    "corr2d_multi_in_out_1x1": [
        ("K reshaped as (c_i, c_o)", """def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    Y = torch.matmul(K.reshape((c_i, c_o)).T, X.reshape((c_i, h * w)))
    return Y.reshape((c_o, h, w))"""),
        ("X reshaped as (h*w, c_i)", """def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    Y = torch.matmul(X.reshape((h * w, c_i)), K.reshape((c_o, c_i)).T)
    return Y.T.reshape((c_o, h, w))"""),
        ("output reshaped (c_o, w, h)", """def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    Y = torch.matmul(K.reshape((c_o, c_i)), X.reshape((c_i, h * w)))
    return Y.reshape((c_o, w, h))"""),
        ("averaged the channels instead of summing", """def corr2d_multi_in_out_1x1(X, K):
    return (K * X.unsqueeze(0)).mean(1)"""),
        ("calls F.conv2d", """def corr2d_multi_in_out_1x1(X, K):
    return F.conv2d(X.unsqueeze(0), K)[0]"""),
    ],
    "conv2d_param_count": [
        ("one bias per input channel", """def conv2d_param_count(c_i, c_o, k_h, k_w, bias=True):
    return c_o * c_i * k_h * k_w + (c_i if bias else 0)"""),
        ("forgot the input channels", """def conv2d_param_count(c_i, c_o, k_h, k_w, bias=True):
    return c_o * k_h * k_w + (c_o if bias else 0)"""),
        ("ignores bias=False", """def conv2d_param_count(c_i, c_o, k_h, k_w, bias=True):
    return c_o * c_i * k_h * k_w + c_o"""),
        ("a single bias for the layer", """def conv2d_param_count(c_i, c_o, k_h, k_w, bias=True):
    return c_o * c_i * k_h * k_w + (1 if bias else 0)"""),
    ],
    "conv2d_macs": [
        ("padding counted once (D2L's total p_h)", """def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    p_h, p_w = pair(padding)
    s_h, s_w = pair(stride)
    o_h = (n_h - k_h + p_h + s_h) // s_h
    o_w = (n_w - k_w + p_w + s_w) // s_w
    return c_o * o_h * o_w * c_i * k_h * k_w"""),
        ("ceil instead of floor", """def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    p_h, p_w = pair(padding)
    s_h, s_w = pair(stride)
    o_h = math.ceil((n_h - k_h + 2 * p_h) / s_h) + 1
    o_w = math.ceil((n_w - k_w + 2 * p_w) / s_w) + 1
    return c_o * o_h * o_w * c_i * k_h * k_w"""),
        ("forgot the input channels", """def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    p_h, p_w = pair(padding)
    s_h, s_w = pair(stride)
    o_h = (n_h - k_h + 2 * p_h + s_h) // s_h
    o_w = (n_w - k_w + 2 * p_w + s_w) // s_w
    return c_o * o_h * o_w * k_h * k_w"""),
        ("height and width swapped", """def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    p_h, p_w = pair(padding)
    s_h, s_w = pair(stride)
    o_h = (n_h - k_w + 2 * p_w + s_w) // s_w
    o_w = (n_w - k_h + 2 * p_h + s_h) // s_h
    return c_o * o_h * o_w * c_i * k_h * k_w"""),
        ("ignores the stride", """def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    p_h, p_w = pair(padding)
    return c_o * (n_h - k_h + 2 * p_h + 1) * (n_w - k_w + 2 * p_w + 1) * c_i * k_h * k_w"""),
    ],
    "compose_kernels": [
        ("K2 flipped (correlated the padded K1 with K2)", """def compose_kernels(K1, K2):
    k2_h, k2_w = K2.shape
    padded = torch.zeros((K1.shape[0] + 2 * (k2_h - 1), K1.shape[1] + 2 * (k2_w - 1)))
    padded[k2_h - 1:k2_h - 1 + K1.shape[0], k2_w - 1:k2_w - 1 + K1.shape[1]] = K1
    return d2l.corr2d(padded, K2)"""),
        ("one row and column too many", """def compose_kernels(K1, K2):
    k1_h, k1_w = K1.shape
    k2_h, k2_w = K2.shape
    K = torch.zeros((k1_h + k2_h, k1_w + k2_w))
    for u in range(k2_h):
        for v in range(k2_w):
            K[u:u + k1_h, v:v + k1_w] += K2[u, v] * K1
    return K"""),
        ("height and width mixed up", """def compose_kernels(K1, K2):
    k1_h, k1_w = K1.shape
    k2_h, k2_w = K2.shape
    K = torch.zeros((k1_h + k2_w - 1, k1_w + k2_h - 1))
    for u in range(k2_w):
        for v in range(k2_h):
            K[u:u + k1_h, v:v + k1_w] += K2[v, u] * K1
    return K"""),
        ("calls F.conv_transpose2d", """def compose_kernels(K1, K2):
    return F.conv_transpose2d(K1[None, None], K2[None, None])[0, 0]"""),
    ],
}
