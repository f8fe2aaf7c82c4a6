"""The course's one rule, as the student side checks it: a graded function computes its answer
itself, it does not call the library routine that *is* the answer (docs/contract.md).

``ANSWER_FAMILY`` is the one home of which routines are each function's answer: the visible
tests and the explorers trace a call with it (``course.checks.traced_call``), the hidden tests
do too, and the grader's static check (``autograder.engine.library``) maps each family to the routine
names it looks for in the code.
"""

#: aten operators (as a ``TorchDispatchMode`` sees them) by family, matched as name prefixes.
LIBRARY_OPS = {
    "convolution": ("convolution", "conv1d", "conv2d", "conv_transpose", "_convolution",
                    "mkldnn_convolution", "slow_conv", "thnn_conv", "cudnn_convolution"),
    "pooling": ("max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool",
                "fractional_max_pool", "max_unpool"),
    "padding": ("constant_pad_nd", "reflection_pad", "replication_pad", "pad"),
    "maximum": ("maximum", "max", "amax", "fmax", "clamp", "clip", "where", "sort", "topk"),
}

#: How the notes name each family's routines.
ROUTINES = {"convolution": "F.conv1d / F.conv2d / nn.Conv2d", "pooling": "F.max_pool2d / F.avg_pool2d",
            "padding": "F.pad", "maximum": "torch.maximum / torch.where / clamp"}

#: Per graded function: the family of library routines that is its answer. The functions not
#: listed may use any routine (``learn_kernel`` trains an ``nn.Conv2d``; ``avg_pool_as_conv``
#: is built on ``F.conv2d``, so only pooling is its answer).
ANSWER_FAMILY = {
    **dict.fromkeys(("corr1d", "corr2d", "Conv2D", "conv2d_true", "corr2d_as_matrix",
                     "conv_output_shape", "corr2d_pad_stride", "corr2d_multi_in",
                     "corr2d_multi_in_out", "corr2d_multi_in_out_1x1", "compose_kernels"),
                    "convolution"),
    **dict.fromkeys(("pad2d", "mirror_pad2d"), "padding"),
    **dict.fromkeys(("pool2d", "pool2d_pad_stride", "pool2d_multi_channel", "avg_pool_as_conv"),
                    "pooling"),
    "max_via_relu": "maximum",
}


def library_calls(ops, families):
    """The traced ``ops`` that are library routines of ``families`` (numpy/scipy ones always)."""
    banned = tuple(op for family in families for op in LIBRARY_OPS[family])
    return sorted(op for op in ops if op.startswith(banned) or "." in op)


def library_message(name, routines, where=""):
    """What a student reads when ``name`` calls the library ``routines`` that are its answer: the
    same words whether the grader's code check, the tests' trace or an explorer found it;
    ``where`` says how (", through ..." or ", when the tests ran it")."""
    return (f"{name} calls {' or '.join(routines)}, the library routine that is the answer"
            f"{where}: it scores 0 when graded; compute it yourself (loops, slicing, unfold, "
            "einsum, matmul)")


def traced_message(name, used, families, when=""):
    """``library_message`` for a trace that saw the aten ops ``used`` of ``families``."""
    return library_message(name, [ROUTINES[family] for family in families],
                           f"{when} (the trace saw {', '.join(used)})")
