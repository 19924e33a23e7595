"""GradBench `ht`: hand-tracking residuals of a skinned hand model and their Jacobian (port of the C++ reference, complicated variant)."""

import numba
import numpy as np
import srcgrad
from common import check_jacobian, fd_report, timed

DERIVATIVE = "jacobian"


@numba.njit
def angle_axis_to_rotation_matrix(angle_axis):
    n = np.sqrt(np.sum(angle_axis ** 2))
    if n < 0.0001:
        return np.eye(3)
    x = angle_axis[0] / n
    y = angle_axis[1] / n
    z = angle_axis[2] / n
    s = np.sin(n)
    c = np.cos(n)
    R = np.zeros((3, 3))
    R[0, 0] = x * x + (1 - x * x) * c
    R[0, 1] = x * y * (1 - c) - z * s
    R[0, 2] = x * z * (1 - c) + y * s
    R[1, 0] = x * y * (1 - c) + z * s
    R[1, 1] = y * y + (1 - y * y) * c
    R[1, 2] = y * z * (1 - c) - x * s
    R[2, 0] = x * z * (1 - c) - y * s
    R[2, 1] = z * y * (1 - c) + x * s
    R[2, 2] = z * z + (1 - z * z) * c
    return R


@numba.njit
def euler_angles_to_rotation_matrix(xzy):
    tx = xzy[0]
    ty = xzy[2]
    tz = xzy[1]
    Rx = np.eye(3)
    Rx[1, 1] = np.cos(tx)
    Rx[2, 1] = np.sin(tx)
    Rx[1, 2] = -Rx[2, 1]
    Rx[2, 2] = Rx[1, 1]
    Ry = np.eye(3)
    Ry[0, 0] = np.cos(ty)
    Ry[0, 2] = np.sin(ty)
    Ry[2, 0] = -Ry[0, 2]
    Ry[2, 2] = Ry[0, 0]
    Rz = np.eye(3)
    Rz[0, 0] = np.cos(tz)
    Rz[1, 0] = np.sin(tz)
    Rz[0, 1] = -Rz[1, 0]
    Rz[1, 1] = Rz[0, 0]
    return Rz @ Ry @ Rx


@numba.njit
def to_pose_params(theta, n_bones):
    """Rows: global rotation, scale, global translation, then one (x, z, y) angle triple per bone."""
    pose_params = np.zeros((n_bones + 3, 3))
    pose_params[0] = theta[0:3]
    pose_params[1] = np.ones(3)
    pose_params[2] = theta[3:6]
    i_theta = 6
    i_pose_params = 5
    for i_finger in range(5):
        for i in range(2, 5):
            pose_params[i_pose_params, 0] = theta[i_theta]
            i_theta += 1
            if i == 2:
                pose_params[i_pose_params, 1] = theta[i_theta]
                i_theta += 1
            i_pose_params += 1
        i_pose_params += 1
    return pose_params


@numba.njit
def get_posed_relatives(pose_params, base_relatives):
    relatives = np.empty(base_relatives.shape)
    for i in range(base_relatives.shape[0]):
        tr = np.eye(4)
        tr[:3, :3] = euler_angles_to_rotation_matrix(pose_params[i + 3])
        relatives[i] = base_relatives[i] @ tr
    return relatives


@numba.njit
def relatives_to_absolutes(relatives, parents):
    absolutes = np.empty(relatives.shape)
    for i in range(relatives.shape[0]):
        if parents[i] == -1:
            absolutes[i] = relatives[i]
        else:
            absolutes[i] = absolutes[parents[i]] @ relatives[i]
    return absolutes


@numba.njit
def get_skinned_vertex_positions(pose_params, base_relatives, parents, inverse_base_absolutes,
                                 base_positions, weights):
    """Skinned vertices, one row each; the model is not mirrored in GradBench's data."""
    relatives = get_posed_relatives(pose_params, base_relatives)
    absolutes = relatives_to_absolutes(relatives, parents)
    positions = np.zeros((base_positions.shape[0], 3))
    for i_bone in range(absolutes.shape[0]):
        transform = absolutes[i_bone] @ inverse_base_absolutes[i_bone]
        curr_positions = base_positions @ transform.T
        positions += curr_positions[:, :3] * weights[:, i_bone:i_bone + 1]
    R = angle_axis_to_rotation_matrix(pose_params[0]) * pose_params[1]
    return positions @ R.T + pose_params[2]


def hand_objective(theta, us, parents, base_relatives, inverse_base_absolutes, base_positions,
                   weights, triangles, correspondences, points):
    pose_params = to_pose_params(theta, base_relatives.shape[0])
    vertex_positions = get_skinned_vertex_positions(pose_params, base_relatives, parents,
                                                    inverse_base_absolutes, base_positions, weights)
    err = np.empty(points.shape)
    for i in range(points.shape[0]):
        verts = triangles[correspondences[i]]
        u = us[i]
        hand_point = (u[0] * vertex_positions[verts[0]] + u[1] * vertex_positions[verts[1]]
                      + (1.0 - u[0] - u[1]) * vertex_positions[verts[2]])
        err[i] = points[i] - hand_point
    return err


def shifted_objective(theta, shift, us, parents, base_relatives, inverse_base_absolutes, base_positions,
                      weights, triangles, correspondences, points):
    """The residuals with every point's (u0, u1) moved by the same `shift`."""
    return hand_objective(theta, us + shift, parents, base_relatives, inverse_base_absolutes, base_positions,
                          weights, triangles, correspondences, points)


primal_ht = numba.njit(hand_objective)
jacobian_by_theta_and_shift = srcgrad.jacfwd(shifted_objective, wrt=(0, 1))


def hand_jacobian(theta, us, *model):
    """Columns: d/du0 and d/du1 of each point's own (u0, u1), then d/dtheta.

    Each residual depends only on its own point's us, so the derivative by a shift of every
    point's u0 at once is every d/du0 (and likewise u1): jacfwd's one pass carries the 26 theta
    directions and these two.
    """
    J_theta, J_shift = jacobian_by_theta_and_shift(theta, np.zeros(2), us, *model)   # (points, 3, 26), (points, 3, 2)
    n_rows = 3 * us.shape[0]
    return np.concatenate([J_shift.reshape(n_rows, 2), J_theta.reshape(n_rows, theta.shape[0])], axis=1)


def prepare(input):
    data, model = input["data"], input["data"]["model"]
    floats = lambda v: np.array(v, dtype=np.float64)
    ints = lambda v: np.array(v, dtype=np.int64)
    return (floats(input["theta"]), floats(input["us"]), ints(model["parents"]),
            floats(model["base_relatives"]), floats(model["inverse_base_absolutes"]),
            floats(model["base_positions"]), floats(model["weights"]), ints(model["triangles"]),
            ints(data["correspondences"]), floats(data["points"]))


@timed(pre=prepare, post=lambda err: err.ravel().tolist())
def objective(args):
    return primal_ht(*args)


@timed(pre=prepare, post=lambda J: J.tolist())
def jacobian(args):
    return hand_jacobian(*args)


def check(input):
    theta, us, *model = prepare(input)
    J = hand_jacobian(theta, us, *model)
    n_rows = 3 * us.shape[0]
    J_us = np.zeros((n_rows,) + us.shape)   # the block-diagonal us part, expanded
    for i in range(us.shape[0]):
        J_us[3 * i:3 * i + 3, i, :] = J[3 * i:3 * i + 3, :2]
    return fd_report(
        fd_rel_err_theta=check_jacobian(lambda v: primal_ht(v, us, *model).ravel(), theta, J[:, 2:]),
        fd_rel_err_us=check_jacobian(lambda v: primal_ht(theta, v, *model).ravel(), us, J_us))
