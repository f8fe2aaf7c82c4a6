"""Chapter 02 (cross-correlation): honest and wrong implementations of every graded function.

HONEST variants must pass their test cell; each WRONG variant, named by its mistake, must fail it.
"""

HONEST = {
    "corr2d": [
        # The notes' code.
        """def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
""",
        # unfold: every window as a column, then one matrix product; keeps float64.
        """def corr2d(X, K):
    k_h, k_w = K.shape
    o_h, o_w = X.shape[0] - k_h + 1, X.shape[1] - k_w + 1
    windows = X.unfold(0, k_h, 1).unfold(1, k_w, 1)
    return (windows.reshape(o_h, o_w, -1) @ K.reshape(-1).to(X.dtype))
""",
        # einsum over as_strided windows, printing as it goes.
        """def corr2d(X, K):
    k_h, k_w = K.shape
    o_h, o_w = X.shape[0] - k_h + 1, X.shape[1] - k_w + 1
    X = X.contiguous()
    s_h, s_w = X.stride()
    windows = X.as_strided((o_h, o_w, k_h, k_w), (s_h, s_w, s_h, s_w))
    print("corr2d: output", (o_h, o_w))
    return torch.einsum('ijab,ab->ij', windows, K.to(X.dtype))
""",
        # Sum of shifted slices: one slice of X per kernel entry.
        """def corr2d(X, K):
    k_h, k_w = K.shape
    o_h, o_w = X.shape[0] - k_h + 1, X.shape[1] - k_w + 1
    Y = torch.zeros(o_h, o_w, dtype=torch.float64)
    for a in range(k_h):
        for b in range(k_w):
            Y = Y + K[a, b] * X[a:a + o_h, b:b + o_w]
    return Y
""",
    ],
    "Conv2D": [
        # The notes' class.
        """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias
""",
        # Normal initialisation, registered with register_parameter, a warning on stderr.
        """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        k_h, k_w = kernel_size
        self.register_parameter('weight', nn.Parameter(torch.randn(k_h, k_w) * 0.1))
        self.register_parameter('bias', nn.Parameter(torch.zeros(1)))

    def forward(self, x):
        import sys
        print('Conv2D.forward: input', tuple(x.shape), file=sys.stderr)
        return corr2d(x, self.weight) + self.bias
""",
        # Its own windowing with unfold instead of corr2d.
        """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        k_h, k_w = self.weight.shape
        windows = x.unfold(0, k_h, 1).unfold(1, k_w, 1)
        return (windows * self.weight).sum(dim=(-2, -1)) + self.bias
""",
    ],
    "edge_kernel": [
        """def edge_kernel(direction):
    K = torch.tensor([[1.0, -1.0]])
    if direction == 'vertical':
        return K
    elif direction == 'horizontal':
        return K.t()
    else:
        raise ValueError('unknown direction ' + str(direction))
""",
        # A dict of kernels, float64, checked membership first.
        """def edge_kernel(direction):
    kernels = {'vertical': torch.tensor([[1.0, -1.0]], dtype=torch.float64),
               'horizontal': torch.tensor([[1.0], [-1.0]], dtype=torch.float64)}
    if direction not in kernels:
        raise ValueError(direction)
    return kernels[direction].clone()
""",
        # Built from a difference of identities, reshaped per direction.
        """def edge_kernel(direction):
    shapes = {'vertical': (1, 2), 'horizontal': (2, 1)}
    try:
        shape = shapes[direction]
    except KeyError:
        raise ValueError(f'direction {direction!r} is neither vertical nor horizontal') from None
    return (torch.eye(2)[0] - torch.eye(2)[1]).reshape(shape)
""",
    ],
    "learn_kernel": [
        # The notes' loop.
        """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        Y_hat = conv2d(X)
        loss = (Y_hat - Y) ** 2
        conv2d.zero_grad()
        loss.sum().backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(loss.sum().item())
    return conv2d.weight.data.reshape(kernel_size), losses
""",
        # unsqueeze instead of reshape, torch.optim.SGD, float(), prints every epoch.
        """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv = nn.Conv2d(1, 1, kernel_size, bias=False)
    optimizer = torch.optim.SGD(conv.parameters(), lr=lr)
    inputs, targets = X.unsqueeze(0).unsqueeze(0), Y[None, None]
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = ((conv(inputs) - targets) ** 2).sum()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        print(f'epoch {epoch + 1}, loss {losses[-1]:.3f}')
    return conv.weight.detach()[0, 0].clone(), losses
""",
        # No nn.Conv2d: its own zero-initialised kernel, corr2d and torch.autograd.grad;
        # records the loss after each update.
        """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    K = torch.zeros(kernel_size, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = ((corr2d(X, K) - Y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, K)
        with torch.no_grad():
            K -= lr * grad
            losses.append(((corr2d(X, K) - Y) ** 2).sum().item())
    return K.detach(), losses
""",
    ],
    "conv2d_true": [
        """def conv2d_true(X, K):
    return corr2d(X, torch.flip(K, dims=(0, 1)))
""",
        # Reversed indices in the notes' loop.
        """def conv2d_true(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K.flip(0).flip(1)).sum()
    return Y
""",
        # Rotate by 180 degrees, then unfold; keeps float64.
        """def conv2d_true(X, K):
    k_h, k_w = K.shape
    windows = X.unfold(0, k_h, 1).unfold(1, k_w, 1)
    return (windows * torch.rot90(K, 2).to(X.dtype)).sum(dim=(-2, -1))
""",
    ],
    "corr2d_as_matrix": [
        # The answer key's placement of K in each row.
        """def corr2d_as_matrix(K, n_h, n_w):
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros((o_h * o_w, n_h * n_w))
    for i in range(o_h):
        for j in range(o_w):
            row = torch.zeros((n_h, n_w))
            row[i:i + k_h, j:j + k_w] = K
            M[i * o_w + j] = row.reshape(-1)
    return M
""",
        # Columns from corr2d of each basis image.
        """def corr2d_as_matrix(K, n_h, n_w):
    columns = []
    for p in range(n_h * n_w):
        E = torch.zeros(n_h * n_w, dtype=K.dtype)
        E[p] = 1
        columns.append(corr2d(E.reshape(n_h, n_w), K).reshape(-1))
    return torch.stack(columns, dim=1)
""",
        # Index arithmetic: entry (i*o_w + j, (i+a)*n_w + (j+b)) = K[a, b]; float64 kept.
        """def corr2d_as_matrix(K, n_h, n_w):
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros(o_h * o_w, n_h * n_w, dtype=K.dtype)
    for i in range(o_h):
        for j in range(o_w):
            for a in range(k_h):
                for b in range(k_w):
                    M[i * o_w + j, (i + a) * n_w + (j + b)] = K[a, b]
    return M
""",
    ],
    "receptive_field": [
        """def receptive_field(layers):
    size = 1
    for kernel_size, stride in reversed(layers):
        size = (size - 1) * stride + kernel_size
    return size
""",
        # Forward: r = 1 + sum of (k - 1) times the product of the strides below.
        """def receptive_field(layers):
    r, jump = 1, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r
""",
        # Recursive, returning a float that is a whole number.
        """def receptive_field(layers):
    def down(size, remaining):
        if not remaining:
            return size
        kernel_size, stride = remaining[-1]
        return down((size - 1) * stride + kernel_size, remaining[:-1])
    return float(down(1, list(layers)))
""",
    ],
}

WRONG = {
    "corr2d": [
        ("kernel flipped", """def corr2d(X, K):
    K = torch.flip(K, dims=(0, 1))
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""),
        ("off by one in the output size", """def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h, X.shape[1] - w))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""),
        ("kernel height and width swapped", """def corr2d(X, K):
    w, h = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K.t()).sum()
    return Y
"""),
        ("lost the gradient with .item()", """def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum().item()
    return Y
"""),
        ("library routine F.conv2d", """def corr2d(X, K):
    return F.conv2d(X[None, None], K.to(X.dtype)[None, None])[0, 0]
"""),
    ],
    "Conv2D": [
        ("weight and bias as plain tensors, not nn.Parameter", """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = torch.rand(kernel_size, requires_grad=True)
        self.bias = torch.zeros(1, requires_grad=True)

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias
"""),
        ("bias forgotten in forward", """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight)
"""),
        ("forward uses weight.data (lost the gradient)", """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight.data) + self.bias
"""),
        ("one bias per kernel entry", """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(kernel_size))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias.sum()
"""),
        ("library routine F.conv2d in forward", """class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return F.conv2d(x[None, None], self.weight[None, None])[0, 0] + self.bias
"""),
    ],
    "edge_kernel": [
        ("vertical and horizontal swapped", """def edge_kernel(direction):
    if direction == 'horizontal':
        return torch.tensor([[1.0, -1.0]])
    if direction == 'vertical':
        return torch.tensor([[1.0], [-1.0]])
    raise ValueError(direction)
"""),
        ("sign flipped", """def edge_kernel(direction):
    if direction == 'vertical':
        return torch.tensor([[-1.0, 1.0]])
    if direction == 'horizontal':
        return torch.tensor([[-1.0], [1.0]])
    raise ValueError(direction)
"""),
        ("KeyError instead of ValueError", """def edge_kernel(direction):
    return {'vertical': torch.tensor([[1.0, -1.0]]),
            'horizontal': torch.tensor([[1.0], [-1.0]])}[direction]
"""),
        ("unknown direction returns None", """def edge_kernel(direction):
    if direction == 'vertical':
        return torch.tensor([[1.0, -1.0]])
    if direction == 'horizontal':
        return torch.tensor([[1.0], [-1.0]])
"""),
        ("integer kernel", """def edge_kernel(direction):
    if direction == 'vertical':
        return torch.tensor([[1, -1]])
    if direction == 'horizontal':
        return torch.tensor([[1], [-1]])
    raise ValueError(direction)
"""),
    ],
    "learn_kernel": [
        ("weight returned with shape (1, 1, k_h, k_w)", """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        loss = (conv2d(X) - Y) ** 2
        conv2d.zero_grad()
        loss.sum().backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(loss.sum().item())
    return conv2d.weight.data, losses
"""),
        ("mean squared error instead of the sum", """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        loss = ((conv2d(X) - Y) ** 2).mean()
        conv2d.zero_grad()
        loss.backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(loss.item())
    return conv2d.weight.data.reshape(kernel_size), losses
"""),
        ("no zero_grad: gradients pile up", """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        loss = (conv2d(X) - Y) ** 2
        loss.sum().backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(loss.sum().item())
    return conv2d.weight.data.reshape(kernel_size), losses
"""),
        ("loss only every second epoch, as the notes print it", """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        loss = (conv2d(X) - Y) ** 2
        conv2d.zero_grad()
        loss.sum().backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        if (i + 1) % 2 == 0:
            losses.append(loss.sum().item())
    return conv2d.weight.data.reshape(kernel_size), losses
"""),
        ("lr and kernel_size ignored (the notes' constants)", """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        loss = (conv2d(X) - Y) ** 2
        conv2d.zero_grad()
        loss.sum().backward()
        conv2d.weight.data[:] -= 3e-2 * conv2d.weight.grad
        losses.append(loss.sum().item())
    return conv2d.weight.data.reshape(1, 2), losses
"""),
        ("modifies X and Y in place with unsqueeze_", """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X.unsqueeze_(0).unsqueeze_(0)
    Y.unsqueeze_(0).unsqueeze_(0)
    losses = []
    for i in range(epochs):
        loss = (conv2d(X) - Y) ** 2
        conv2d.zero_grad()
        loss.sum().backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(loss.sum().item())
    return conv2d.weight.data.reshape(kernel_size), losses
"""),
        ("loss tensors instead of floats", """def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        loss = ((conv2d(X) - Y) ** 2).sum()
        conv2d.zero_grad()
        loss.backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(loss)
    return conv2d.weight.data.reshape(kernel_size), losses
"""),
    ],
    "conv2d_true": [
        # (First entries self-contained: nbgrader's proof fills every stub with the first wrong
        # variant, so a wrong corr2d must not turn these into right answers.)
        ("kernel not flipped (the notes' corr2d copied)", """def conv2d_true(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""),
        ("kernel flipped along one axis only", """def conv2d_true(X, K):
    K = torch.flip(K, dims=(0,))
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""),
        ("kernel transposed instead of flipped", """def conv2d_true(X, K):
    return corr2d(X, K.t())
"""),
        ("flips K in place (modifies the input)", """def conv2d_true(X, K):
    K.copy_(torch.flip(K, dims=(0, 1)))
    return corr2d(X, K)
"""),
        ("library routine F.conv2d", """def conv2d_true(X, K):
    return F.conv2d(X[None, None], K.flip(0, 1).to(X.dtype)[None, None])[0, 0]
"""),
    ],
    "corr2d_as_matrix": [
        ("matrix transposed", """def corr2d_as_matrix(K, n_h, n_w):
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros((n_h * n_w, o_h * o_w))
    for i in range(o_h):
        for j in range(o_w):
            column = torch.zeros((n_h, n_w))
            column[i:i + k_h, j:j + k_w] = K
            M[:, i * o_w + j] = column.reshape(-1)
    return M
"""),
        ("kernel flipped", """def corr2d_as_matrix(K, n_h, n_w):
    K = K.flip(0, 1)
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros((o_h * o_w, n_h * n_w))
    for i in range(o_h):
        for j in range(o_w):
            row = torch.zeros((n_h, n_w))
            row[i:i + k_h, j:j + k_w] = K
            M[i * o_w + j] = row.reshape(-1)
    return M
"""),
        ("output cells in column-major order", """def corr2d_as_matrix(K, n_h, n_w):
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros((o_h * o_w, n_h * n_w))
    for i in range(o_h):
        for j in range(o_w):
            row = torch.zeros((n_h, n_w))
            row[i:i + k_h, j:j + k_w] = K
            M[j * o_h + i] = row.reshape(-1)
    return M
"""),
        ("input flattened with n_h and n_w swapped", """def corr2d_as_matrix(K, n_h, n_w):
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros((o_h * o_w, n_h * n_w))
    for i in range(o_h):
        for j in range(o_w):
            for a in range(k_h):
                for b in range(k_w):
                    M[i * o_w + j, (i + a) * n_h + (j + b)] = K[a, b]
    return M
"""),
        ("library routine F.conv2d on basis images", """def corr2d_as_matrix(K, n_h, n_w):
    basis = torch.eye(n_h * n_w).reshape(n_h * n_w, 1, n_h, n_w)
    return F.conv2d(basis, K.float()[None, None]).reshape(n_h * n_w, -1).t()
"""),
    ],
    "receptive_field": [
        ("strides in the wrong order (first layer applied last)", """def receptive_field(layers):
    size = 1
    for kernel_size, stride in layers:
        size = (size - 1) * stride + kernel_size
    return size
"""),
        ("strides ignored", """def receptive_field(layers):
    return 1 + sum(k - 1 for k, s in layers)
"""),
        ("sum of the kernel sizes", """def receptive_field(layers):
    return sum(k for k, s in layers)
"""),
        ("product of the kernel sizes", """def receptive_field(layers):
    size = 1
    for k, s in layers:
        size *= k
    return size
"""),
        ("returns a tensor", """def receptive_field(layers):
    size = torch.tensor(1)
    for kernel_size, stride in reversed(layers):
        size = (size - 1) * stride + kernel_size
    return size
"""),
    ],
}
