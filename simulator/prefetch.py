"""Cache prefetch hints for numba loops: ``prefetch(a, i)``, ``prefetch2(a, i, j)``, ``prefetch_row(a, i)``.

At 10^7 agents and more, graph generators and the kernel are bound by the latency of
random memory reads (about 150 ns each on a 2-core cloud machine), not by arithmetic.
Reads that do not depend on each other can overlap - about ten at a time - so a loop
that knows which rows it will need a few iterations ahead asks for them early. These
are hints (LLVM's ``llvm.prefetch``): they never change a result, never fault, and
cost one instruction.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

_I32 = ir.IntType(32)


def _emit_prefetch(context, builder, aryty, ary_value, indices):
    ary = context.make_array(aryty)(context, builder, ary_value)
    ptr = cgutils.get_item_pointer(context, builder, aryty, ary, indices, wraparound=False,
                                   boundscheck=False)
    i8p = ir.IntType(8).as_pointer()
    fnty = ir.FunctionType(ir.VoidType(), [i8p, _I32, _I32, _I32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
    # (address, 0 = read, 3 = keep in all cache levels, 1 = data cache)
    builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(_I32, 0), ir.Constant(_I32, 3),
                      ir.Constant(_I32, 1)])


@intrinsic
def _prefetch_at(typingctx, arr, index):
    """``llvm.prefetch`` of the address of ``arr[index]``; ``index`` a tuple of integers,
    one per dimension."""
    if not (isinstance(arr, types.Array) and isinstance(index, types.BaseTuple)
            and len(index) == arr.ndim and all(isinstance(t, types.Integer) for t in index)):
        return None

    def codegen(context, builder, signature, args):
        tupty = signature.args[1]
        idx = [context.cast(builder, builder.extract_value(args[1], k), tupty[k], types.intp)
               for k in range(len(tupty))]
        _emit_prefetch(context, builder, signature.args[0], args[0], idx)
        return context.get_dummy_value()

    return types.void(arr, index), codegen


# Plain functions (no-ops in Python, so kernels still run as pure Python in the tests)
# compiled to the intrinsic above.
def prefetch(arr, i):
    """Hint that ``arr[i]`` (a 1-d array) will be read soon. ``i`` must be in range."""


def prefetch_row(arr, i):
    """Hint that row ``arr[i, :]`` of a 2-d array will be read soon."""


def prefetch2(arr, i, j):
    """Hint that ``arr[i, j]`` (a 2-d array) will be read soon."""


@overload(prefetch)
def _prefetch_impl(arr, i):
    return lambda arr, i: _prefetch_at(arr, (i,))


@overload(prefetch_row)
def _prefetch_row_impl(arr, i):
    return lambda arr, i: _prefetch_at(arr, (i, 0))


@overload(prefetch2)
def _prefetch2_impl(arr, i, j):
    return lambda arr, i, j: _prefetch_at(arr, (i, j))
