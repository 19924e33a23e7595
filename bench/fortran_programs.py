"""Array code written the Fortran way: work arrays overwritten every step, updates in place, sweeps.

Each function is written as a scientist would write it for numba, not for srcgrad. The driver is
`bench/fortran_style.py`.
"""
import numpy as np


def heat_new_grid(u0, alpha, steps):
    # 1-D heat equation, a new grid each step made like the old
    u = u0.copy()
    n = len(u)
    for _ in range(steps):
        un = np.empty_like(u)
        un[0] = u[0]
        un[n - 1] = u[n - 1]
        for i in range(1, n - 1):
            un[i] = u[i] + alpha * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        u = un
    return np.sum(u * u)


def heat_work_array(u0, alpha, steps):
    # the same with one work array allocated before the loop and copied back every step
    u = u0.copy()
    n = u.shape[0]
    work = np.zeros(n)
    for _ in range(steps):
        for i in range(1, n - 1):
            work[i] = u[i] + alpha * (u[i + 1] - 2.0 * u[i] + u[i - 1])
        for i in range(1, n - 1):
            u[i] = work[i]
    return np.sum(u * u)


def euler_rhs(y, k, out):
    n = y.shape[0]
    for i in range(n):
        out[i] = -k[i] * y[i] + (y[i - 1] if i > 0 else 0.0)


def euler_subroutine(y0, k, dt, steps):
    # explicit Euler, the right-hand side written into a preallocated array by a subroutine
    y = y0.copy()
    f = np.zeros(y.shape[0])
    for _ in range(steps):
        euler_rhs(y, k, f)
        for i in range(y.shape[0]):
            y[i] = y[i] + dt * f[i]
    return np.sum(y)


def heat2d_work_grid(u0, alpha, steps):
    # 2-D heat equation, one work grid overwritten every step and copied back
    u = u0.copy()
    nx, ny = u.shape
    work = np.zeros((nx, ny))
    for _ in range(steps):
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                work[i, j] = u[i, j] + alpha * (u[i + 1, j] + u[i - 1, j] + u[i, j + 1] + u[i, j - 1] - 4.0 * u[i, j])
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                u[i, j] = work[i, j]
    return np.sum(u * u)


def heat2d_tanh(u0, alpha, steps):
    # the copy back is nonlinear: its adjoint reads the work grid
    u = u0.copy()
    nx, ny = u.shape
    work = np.zeros((nx, ny))
    for _ in range(steps):
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                work[i, j] = u[i, j] + alpha * (u[i + 1, j] + u[i - 1, j] + u[i, j + 1] + u[i, j - 1] - 4.0 * u[i, j])
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                u[i, j] = np.tanh(work[i, j])
    return np.sum(u * u)


def heat2d_insulated(u0, alpha, steps):
    # 2-D heat with a work grid and insulated edges copied from the interior every step
    u = u0.copy()
    nx, ny = u.shape
    work = np.zeros((nx, ny))
    for _ in range(steps):
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                work[i, j] = u[i, j] + alpha * (u[i + 1, j] + u[i - 1, j] + u[i, j + 1] + u[i, j - 1] - 4.0 * u[i, j])
        for i in range(1, nx - 1):
            for j in range(1, ny - 1):
                u[i, j] = work[i, j]
        u[0, :] = u[1, :]
        u[nx - 1, :] = u[nx - 2, :]
        u[:, 0] = u[:, 1]
        u[:, ny - 1] = u[:, ny - 2]
    return np.sum(u ** 2) + u[2, 2]


def row_sweep(u0, c, steps):
    # each row updated in place from the one above, then summed
    u = u0.copy()
    nx, ny = u.shape
    total = 0.0
    for _ in range(steps):
        for i in range(1, nx):
            for j in range(ny):
                u[i, j] = u[i, j] + c * u[i - 1, j] * u[i - 1, j]
            for j in range(ny):
                total += u[i, j] * u[i, j]
    return total


def gauss_seidel(f, h, sweeps):
    # Poisson's equation by Gauss-Seidel sweeps in place
    n = f.shape[0]
    u = np.zeros((n, n))
    for _ in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] + h * h * f[i, j])
    return np.sum(u * u)


def jacobi_new_grid(f, h, sweeps):
    # the same by Jacobi sweeps, each into a copy of the last grid
    n = f.shape[0]
    u = np.zeros((n, n))
    for _ in range(sweeps):
        un = u.copy()
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                un[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] + h * h * f[i, j])
        u = un
    return np.sum(u * u)


def sor(f, omega, sweeps):
    # successive over-relaxation in place, differentiated by the relaxation factor too
    n = f.shape[0]
    u = np.zeros((n, n))
    for _ in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                gs = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] + f[i, j])
                u[i, j] = (1.0 - omega) * u[i, j] + omega * gs
    return np.sum(u * f)


def red_black(f, sweeps):
    # red-black Gauss-Seidel: inner loops of step 2
    n = f.shape[0]
    u = np.zeros((n, n))
    for _ in range(sweeps):
        for colour in range(2):
            for i in range(1, n - 1):
                start = 1 + (i + colour) % 2
                for j in range(start, n - 1, 2):
                    u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] + f[i, j])
    return np.sum(u ** 2)


def upwind_in_place(u0, c, steps):
    # 1-D upwind advection updated in place from the right end
    u = u0.copy()
    n = u.shape[0]
    for _ in range(steps):
        for i in range(n - 1, 0, -1):
            u[i] = u[i] - c * (u[i] - u[i - 1])
    return np.sum(u * u)


def thomas(a, b, c, d):
    # tridiagonal solve with work arrays, the textbook way
    n = d.shape[0]
    cp = np.zeros(n)
    dp = np.zeros(n)
    x = np.zeros(n)
    cp[0] = c[0] / b[0]
    dp[0] = d[0] / b[0]
    for i in range(1, n):
        m = b[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / m
        dp[i] = (d[i] - a[i] * dp[i - 1]) / m
    x[n - 1] = dp[n - 1]
    for i in range(n - 2, -1, -1):
        x[i] = dp[i] - cp[i] * x[i + 1]
    return np.sum(x * x)


def implicit_heat(u0, k, steps):
    # backward Euler for the heat equation: a Thomas solve per step into preallocated work arrays
    n = u0.shape[0]
    u = u0.copy()
    cp = np.zeros(n)
    dp = np.zeros(n)
    for _ in range(steps):
        b = 1.0 + 2.0 * k
        cp[0] = -k / b
        dp[0] = u[0] / b
        for i in range(1, n):
            m = b + k * cp[i - 1]
            cp[i] = -k / m
            dp[i] = (u[i] + k * dp[i - 1]) / m
        u[n - 1] = dp[n - 1]
        for i in range(n - 2, -1, -1):
            u[i] = dp[i] - cp[i] * u[i + 1]
    return np.sum(u ** 2)


def running_sums(x, steps):
    # running sums in place, then damped
    y = x.copy()
    for _ in range(steps):
        for i in range(1, y.shape[0]):
            y[i] = y[i] + y[i - 1]
        for i in range(y.shape[0]):
            y[i] = y[i] / (1.0 + y[i] * y[i])
    return np.sum(y)


def reaction_diffusion(u0, v0, du, dv, steps):
    # two coupled 1-D fields (Gray-Scott), each step into work arrays, then copied back
    u = u0.copy()
    v = v0.copy()
    n = u.shape[0]
    un = np.zeros(n)
    vn = np.zeros(n)
    for _ in range(steps):
        for i in range(1, n - 1):
            uvv = u[i] * v[i] * v[i]
            un[i] = u[i] + du * (u[i - 1] - 2.0 * u[i] + u[i + 1]) - uvv + 0.04 * (1.0 - u[i])
            vn[i] = v[i] + dv * (v[i - 1] - 2.0 * v[i] + v[i + 1]) + uvv - 0.1 * v[i]
        for i in range(1, n - 1):
            u[i] = un[i]
            v[i] = vn[i]
    return np.sum(u * v)


def columns_then_rows(a, steps):
    # alternating sweeps along columns and along rows, in place
    x = a.copy()
    nx, ny = x.shape
    for _ in range(steps):
        for j in range(ny):
            for i in range(1, nx):
                x[i, j] = 0.5 * (x[i, j] + x[i - 1, j])
        for i in range(nx):
            for j in range(1, ny):
                x[i, j] = 0.5 * (x[i, j] + np.tanh(x[i, j - 1]))
    return np.sum(x ** 3)
