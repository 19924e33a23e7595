import math

import numpy as np

from srcgrad_runtime import numba_jit as jit


@jit
def vjp_jvp_of_rosenbrock(x, tangent_0, out_bar):
    # inlined: jvp_rosenbrock(x, tangent_0)
    s = 0.0
    ds = 0.0
    x_shape = x.shape
    x_shape_0 = x_shape[0]
    sub = x_shape_0 - 1
    for i in range(sub):
        add = i + 1
        x_add = x[add]
        dx_add = tangent_0[add]
        x_i = x[i]
        dx_i = tangent_0[i]
        pow_1 = x_i ** 2
        mul_1 = 2 * x_i
        dpow_1 = mul_1 * dx_i
        sub_1 = x_add - pow_1
        dsub_1 = dx_add - dpow_1
        pow_2 = sub_1 ** 2
        mul_2 = 2 * sub_1
        dpow_2 = mul_2 * dsub_1
        mul = 100.0 * pow_2
        dmul = 100.0 * dpow_2
        sub_2 = 1.0 - x_i
        dsub_2 = -dx_i
        pow_3 = sub_2 ** 2
        mul_3 = 2 * sub_2
        dpow_3 = mul_3 * dsub_2
        add_1 = mul + pow_3
        dadd_1 = dmul + dpow_3
        ds = ds + dadd_1
        s = s + add_1
    jvp_rosenbrock_1 = s, ds
    value = jvp_rosenbrock_1
    # reverse sweep
    jvp_rosenbrock_1_bar_0 = 0.0
    jvp_rosenbrock_1_bar_1 = 0.0
    tangent_0_bar = np.zeros(tangent_0.shape)
    x_bar = np.zeros(x.shape)
    jvp_rosenbrock_1_bar_0 += out_bar[0]
    jvp_rosenbrock_1_bar_1 += out_bar[1]
    # d(return inner(x, tangent_0))
    s_bar = jvp_rosenbrock_1_bar_0
    ds_bar = jvp_rosenbrock_1_bar_1
    for i in range(sub):
        add = i + 1
        x_add = x[add]
        dx_add = tangent_0[add]
        x_i = x[i]
        dx_i = tangent_0[i]
        pow_1 = x_i ** 2
        mul_1 = 2 * x_i
        dpow_1 = mul_1 * dx_i
        sub_1 = x_add - pow_1
        dsub_1 = dx_add - dpow_1
        mul_2 = 2 * sub_1
        sub_2 = 1.0 - x_i
        dsub_2 = -dx_i
        mul_3 = 2 * sub_2
        # d(s = s + add_1)
        add_1_bar = s_bar
        # d(ds = ds + dadd_1)
        dadd_1_bar = ds_bar
        # d(dadd_1 = dmul + dpow_3)
        dmul_bar = dadd_1_bar
        dpow_3_bar = dadd_1_bar
        # d(add_1 = mul + pow_3)
        mul_bar = add_1_bar
        pow_3_bar = add_1_bar
        # d(dpow_3 = 2 * sub_2 * dsub_2)
        mul_3_bar = dsub_2 * dpow_3_bar
        dsub_2_bar = mul_3 * dpow_3_bar
        sub_2_bar = 2 * mul_3_bar
        # d(pow_3 = sub_2 ** 2)
        sub_2_bar += 2 * sub_2 * pow_3_bar
        # d(dsub_2 = -dx_i)
        dx_i_bar = -dsub_2_bar
        # d(sub_2 = 1.0 - x_i)
        x_i_bar = -sub_2_bar
        # d(dmul = 100.0 * dpow_2)
        dpow_2_bar = 100.0 * dmul_bar
        # d(mul = 100.0 * pow_2)
        pow_2_bar = 100.0 * mul_bar
        # d(dpow_2 = 2 * sub_1 * dsub_1)
        mul_2_bar = dsub_1 * dpow_2_bar
        dsub_1_bar = mul_2 * dpow_2_bar
        sub_1_bar = 2 * mul_2_bar
        # d(pow_2 = sub_1 ** 2)
        sub_1_bar += 2 * sub_1 * pow_2_bar
        # d(dsub_1 = dx_add - dpow_1)
        dx_add_bar = dsub_1_bar
        dpow_1_bar = -dsub_1_bar
        # d(sub_1 = x_add - pow_1)
        x_add_bar = sub_1_bar
        pow_1_bar = -sub_1_bar
        # d(dpow_1 = 2 * x_i * dx_i)
        mul_1_bar = dx_i * dpow_1_bar
        dx_i_bar += mul_1 * dpow_1_bar
        x_i_bar += 2 * mul_1_bar
        # d(pow_1 = x_i ** 2)
        x_i_bar += 2 * x_i * pow_1_bar
        # d(dx_i = dx[i])
        tangent_0_bar[i] += dx_i_bar
        # d(x_i = x[i])
        x_bar[i] += x_i_bar
        # d(dx_add = dx[add])
        tangent_0_bar[add] += dx_add_bar
        # d(x_add = x[add])
        x_bar[add] += x_add_bar
    return value, (x_bar, tangent_0_bar)
