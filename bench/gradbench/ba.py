"""GradBench `ba`: bundle-adjustment reprojection errors and their sparse Jacobian (port of tools/pytorch/ba_objective.py and ba.py)."""

import numba
import numpy as np
import srcgrad
from common import check_jacobian, fd_report, timed

DERIVATIVE = "jacobian"
N_CAM_PARAMS = 11   # rotation (3), centre (3), focal length, principal point (2), distortion (2)


@numba.njit
def rodrigues_rotate_point(rot, X):
    sqtheta = np.sum(rot ** 2)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        theta_inverse = 1.0 / theta
        w = theta_inverse * rot
        w_cross_X = np.cross(w, X)
        tmp = np.dot(w, X) * (1.0 - costheta)
        return X * costheta + w_cross_X * sintheta + w * tmp
    else:
        return X + np.cross(rot, X)


@numba.njit
def radial_distort(rad_params, proj):
    rsq = np.sum(proj ** 2)
    L = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq
    return proj * L


@numba.njit
def project(cam, X):
    Xcam = rodrigues_rotate_point(cam[0:3], X - cam[3:6])
    distorted = radial_distort(cam[9:11], Xcam[0:2] / Xcam[2])
    return distorted * cam[6] + cam[7:9]


@numba.njit
def compute_reproj_err(cam, X, w, feat):
    return w * (project(cam, X) - feat)


@numba.njit
def compute_w_err(w):
    return 1.0 - w ** 2


def ba_objective(cams, X, w, obs, feats):
    p = obs.shape[0]
    reproj_err = np.empty((p, 2))
    w_err = np.empty(p)
    for i in range(p):
        reproj_err[i] = compute_reproj_err(cams[obs[i, 0]], X[obs[i, 1]], w[i], feats[i])
        w_err[i] = compute_w_err(w[i])
    return reproj_err, w_err


primal_ba = numba.njit(ba_objective)
reproj_err_jacobian = srcgrad.jacrev(compute_reproj_err, wrt=(0, 1, 2))   # 2 outputs, 15 inputs
w_err_derivative = srcgrad.derivative(compute_w_err)


def ba_jacobian(cams, X, w, obs, feats):
    """One small Jacobian per observation, computed inside a numba loop, then the sparse matrix."""
    example = (cams[0], X[0], w[0], feats[0])
    blocks, w_grads = jacobian_blocks(reproj_err_jacobian.compiled_for(*example),
                                      w_err_derivative.compiled_for(w[0]), cams, X, w, obs, feats)
    return sparse_matrix(blocks, w_grads, obs, cams.shape[0], X.shape[0])


def fill_blocks(reproj_err_jacobian, w_err_derivative, cams, X, w, obs, feats):
    """One Jacobian block per observation and one derivative per weight, as the reference loops."""
    p = obs.shape[0]
    blocks = np.empty((p, 2, N_CAM_PARAMS + 3 + 1))
    w_grads = np.empty(p)
    for i in range(p):
        J_cam, J_X, J_w = reproj_err_jacobian(cams[obs[i, 0]], X[obs[i, 1]], w[i], feats[i])
        blocks[i, :, :N_CAM_PARAMS] = J_cam
        blocks[i, :, N_CAM_PARAMS:N_CAM_PARAMS + 3] = J_X
        blocks[i, :, -1] = J_w
        w_grads[i] = w_err_derivative(w[i])
    return blocks, w_grads


jacobian_blocks = numba.njit(fill_blocks)   # the same loop compiled, calling compiled_for functions


reproj_err_jacfwd = srcgrad.jacfwd(compute_reproj_err, wrt=(0, 1, 2))


def ba_jacobian_python_loop(cams, X, w, obs, feats):
    """The variant "python_loop": as tools/pytorch/ba.py, a Python loop calling srcgrad per observation."""
    blocks, w_grads = fill_blocks(reproj_err_jacfwd, w_err_derivative, cams, X, w, obs, feats)
    return sparse_matrix(blocks, w_grads, obs, cams.shape[0], X.shape[0])


@numba.njit
def sparse_matrix(blocks, w_grads, obs, n, m):
    """GradBench's CSR layout: two rows of 15 entries per observation, then one per weight."""
    p = obs.shape[0]
    width = N_CAM_PARAMS + 3 + 1
    rows = np.empty(3 * p + 1, dtype=np.int64)
    cols = np.empty(2 * width * p + p, dtype=np.int64)
    vals = np.empty(2 * width * p + p)
    rows[0] = 0
    at = 0
    for i in range(p):
        for r in range(2):
            rows[2 * i + r + 1] = rows[2 * i + r] + width
            for j in range(width):
                if j < N_CAM_PARAMS:
                    cols[at] = N_CAM_PARAMS * obs[i, 0] + j
                elif j < N_CAM_PARAMS + 3:
                    cols[at] = N_CAM_PARAMS * n + 3 * obs[i, 1] + j - N_CAM_PARAMS
                else:
                    cols[at] = N_CAM_PARAMS * n + 3 * m + i
                vals[at] = blocks[i, r, j]
                at += 1
    for i in range(p):
        rows[2 * p + i + 1] = rows[2 * p + i] + 1
        cols[at] = N_CAM_PARAMS * n + 3 * m + i
        vals[at] = w_grads[i]
        at += 1
    return rows, cols, vals


def prepare(input):
    """GradBench sends one camera, point, weight and feature, repeated n, m, p times."""
    n, m, p = input["n"], input["m"], input["p"]
    cams = np.tile(np.array(input["cam"], dtype=np.float64), (n, 1))
    X = np.tile(np.array(input["x"], dtype=np.float64), (m, 1))
    w = np.full(p, float(input["w"]))
    feats = np.tile(np.array(input["feat"], dtype=np.float64), (p, 1))
    obs = np.stack([np.arange(p) % n, np.arange(p) % m], axis=1)
    return cams, X, w, obs, feats


def objective_json(errors):
    reproj_err, w_err = errors
    return {"reproj_error": {"elements": reproj_err[0].tolist(), "repeated": reproj_err.shape[0]},
            "w_err": {"element": float(w_err[0]), "repeated": w_err.shape[0]}}


def jacobian_json(matrix):
    """GradBench compares the first 30 entries of each array and the last."""
    return {key: a[:30].tolist() + [a[-1].item()] for key, a in zip(("rows", "cols", "vals"), matrix)}


def first_observations(args, count=10):
    """The first call compiles on a few observations: a whole Jacobian can take minutes."""
    cams, X, w, obs, feats = args
    return cams, X, w[:count], obs[:count], feats[:count]


@timed(pre=prepare, post=objective_json, first_call_input=first_observations)
def objective(args):
    return primal_ba(*args)


@timed(pre=prepare, post=jacobian_json, first_call_input=first_observations)
def jacobian(args):
    return ba_jacobian(*args)


@timed(pre=prepare, post=jacobian_json, first_call_input=first_observations)
def jacobian_python_loop(args):
    return ba_jacobian_python_loop(*args)


def check(input):
    """The first observation's block against central differences of compute_reproj_err, and
    both ways of computing the blocks against each other."""
    cams, X, w, obs, feats = prepare(input)
    cam, x, wi, feat = cams[obs[0, 0]], X[obs[0, 1]], w[0], feats[0]
    J_cam, J_X, J_w = reproj_err_jacobian(cam, x, wi, feat)
    loop_vals = ba_jacobian(*first_observations((cams, X, w, obs, feats)))[2]
    python_vals = ba_jacobian_python_loop(*first_observations((cams, X, w, obs, feats)))[2]
    return fd_report(
        fd_rel_err_cam=check_jacobian(lambda v: compute_reproj_err(v, x, wi, feat), cam, J_cam),
        fd_rel_err_X=check_jacobian(lambda v: compute_reproj_err(cam, v, wi, feat), x, J_X),
        fd_rel_err_w=check_jacobian(lambda v: compute_reproj_err(cam, x, float(v), feat), np.float64(wi),
                                    np.asarray(J_w)),
        fd_rel_err_w_err=abs(w_err_derivative(wi) + 2 * wi) / abs(2 * wi),
        jacrev_in_numba_vs_jacfwd_rel_diff=float(np.max(np.abs(loop_vals - python_vals)) / np.max(np.abs(python_vals))))
