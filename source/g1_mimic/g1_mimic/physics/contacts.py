"""MuJoCo-C contacts of many ``MjData`` gathered into one Newton :class:`~newton.Contacts` buffer.

The thread that steps an env copies that env's raw ``mjContact`` array (one memory copy, no
per-field views), its constraint forces and its body poses into fixed per-env slots
(:class:`ContactStaging`, Warp CPU arrays with numpy views); one Warp kernel then converts the
contacts of all envs, with the conventions of Newton's MuJoCo-Warp conversion
(``convert_mjw_contacts_to_newton_kernel``):

- ``rigid_contact_shape0/1``: Newton shapes of MuJoCo ``contact.geom[0/1]`` in that env's world;
- ``rigid_contact_normal``: MuJoCo's contact normal (first row of ``contact.frame``), world frame,
  pointing from geom 0 to geom 1;
- ``rigid_contact_point0/1``: the surface points ``pos -/+ dist/2 * normal`` in the frame of the
  body of geom 0/1 [m] (the body poses ``xpos``/``xmat`` of the step that produced the contact);
- ``force``: the contact wrench (force [N], then torque [N m]) in the world frame, acting on shape
  0 (``mj_contactForce`` gives it on geom 1 in the contact frame; Newton negates it).

Contacts are written env by env (env 0's first), each env's in MuJoCo's order.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
import warp as wp

_PROBE_XML = (
    "<mujoco><worldbody><geom type='plane' size='1 1 .1'/>"
    "<body pos='0 0 0.05'><freejoint/><geom type='sphere' size='.1'/></body></worldbody></mujoco>"
)
_INT_FIELDS = {"dim": 1, "geom": 2, "efc_address": 1}
_FLOAT_FIELDS = {"dist": 1, "pos": 3, "frame": 9, "friction": 5}


@dataclass(frozen=True)
class ContactLayout:
    """Byte layout of MuJoCo's ``mjContact`` struct, read from the installed bindings (no hard-coded offsets)."""

    itemsize: int
    """``sizeof(mjContact)`` [bytes]; a multiple of 8."""
    offsets: dict[str, int]
    """Byte offset of each field used here: dist, pos, frame, friction, dim, geom, efc_address."""

    @classmethod
    def probe(cls) -> ContactLayout:
        """Measure the layout on a one-contact model (a sphere resting on a plane)."""
        model = mujoco.MjModel.from_xml_string(_PROBE_XML)
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        if data.ncon < 1:
            raise RuntimeError("mjContact layout probe produced no contact")
        contact = data.contact
        base = contact.dist.__array_interface__["data"][0]
        offsets = {
            name: getattr(contact, name).__array_interface__["data"][0] - base for name in (*_FLOAT_FIELDS, *_INT_FIELDS)
        }
        itemsize = int(contact.dist.strides[0])
        aligned = all(offsets[name] % 8 == 0 for name in _FLOAT_FIELDS) and all(offsets[n] % 4 == 0 for n in _INT_FIELDS)
        if itemsize % 8 or not aligned:
            raise RuntimeError(f"unexpected mjContact layout: size {itemsize}, offsets {offsets}")
        return cls(itemsize=itemsize, offsets=offsets)

    @property
    def words(self) -> int:
        """``sizeof(mjContact)`` in float64 words."""
        return self.itemsize // 8

    def float_word(self, name: str) -> int:
        """Index of float field ``name`` in a contact's float64 words."""
        return self.offsets[name] // 8

    def int_word(self, name: str) -> int:
        """Index of int field ``name`` in a contact's int32 words."""
        return self.offsets[name] // 4


_vec6d = wp.types.vector(length=6, dtype=wp.float64)


@wp.func
def _body_local(p: wp.vec3d, b: int, xpos: wp.array2d(dtype=wp.float64), xmat: wp.array2d(dtype=wp.float64)) -> wp.vec3:
    """World point ``p`` [m] in the frame of staged body row ``b``: ``R^T (p - x)`` (``xmat`` row-major, body -> world)."""
    d = p - wp.vec3d(xpos[b, 0], xpos[b, 1], xpos[b, 2])
    lx = d[0] * xmat[b, 0] + d[1] * xmat[b, 3] + d[2] * xmat[b, 6]
    ly = d[0] * xmat[b, 1] + d[1] * xmat[b, 4] + d[2] * xmat[b, 7]
    lz = d[0] * xmat[b, 2] + d[1] * xmat[b, 5] + d[2] * xmat[b, 8]
    return wp.vec3(wp.float32(lx), wp.float32(ly), wp.float32(lz))


@wp.func
def _contact_wrench(
    row: int,
    env: int,
    raw_f: wp.array2d(dtype=wp.float64),
    raw_i: wp.array2d(dtype=wp.int32),
    n_rows: int,
    efc_force: wp.array2d(dtype=wp.float64),
    elliptic: int,
    w_friction: int,
    w_dim: int,
    w_efc_address: int,
) -> _vec6d:
    """``mj_contactForce`` of staged contact ``row``: wrench on geom 1 in the contact frame."""
    f = _vec6d()
    dim = raw_i[row, w_dim]
    adr = raw_i[row, w_efc_address]
    if adr >= 0:
        if elliptic != 0:
            for j in range(6):
                if j < dim and adr + j < n_rows:
                    f[j] = efc_force[env, adr + j]
        elif dim == 1:
            if adr < n_rows:
                f[0] = efc_force[env, adr]
        else:
            for j in range(10):
                if j < 2 * (dim - 1) and adr + j < n_rows:
                    f[0] = f[0] + efc_force[env, adr + j]
            for i in range(5):
                if i < dim - 1 and adr + 2 * i + 1 < n_rows:
                    mu = raw_f[row, w_friction + i]
                    f[i + 1] = (efc_force[env, adr + 2 * i] - efc_force[env, adr + 2 * i + 1]) * mu
    return f


@wp.kernel(enable_backward=False)
def _convert_contacts_kernel(
    counts: wp.array(dtype=wp.int32),
    starts: wp.array(dtype=wp.int32),
    raw_f: wp.array2d(dtype=wp.float64),
    raw_i: wp.array2d(dtype=wp.int32),
    nefc: wp.array(dtype=wp.int32),
    efc_force: wp.array2d(dtype=wp.float64),
    xpos: wp.array2d(dtype=wp.float64),
    xmat: wp.array2d(dtype=wp.float64),
    geom_to_shape: wp.array2d(dtype=wp.int32),
    geom_bodyid: wp.array(dtype=wp.int32),
    cap: int,
    nbody: int,
    elliptic: int,
    max_contacts: int,
    w_dist: int,
    w_pos: int,
    w_frame: int,
    w_friction: int,
    w_dim: int,
    w_geom: int,
    w_efc_address: int,
    # outputs
    shape0: wp.array(dtype=wp.int32),
    shape1: wp.array(dtype=wp.int32),
    point0: wp.array(dtype=wp.vec3),
    point1: wp.array(dtype=wp.vec3),
    normal_out: wp.array(dtype=wp.vec3),
    force_out: wp.array(dtype=wp.spatial_vector),
):
    """One thread per env: convert that env's staged MuJoCo contacts into Newton's flat rows."""
    env = wp.tid()
    n_rows = nefc[env]
    for slot in range(counts[env]):
        out = starts[env] + slot
        if out >= max_contacts:
            return
        row = env * cap + slot
        g0 = raw_i[row, w_geom]
        g1 = raw_i[row, w_geom + 1]
        shape0[out] = geom_to_shape[env, g0]
        shape1[out] = geom_to_shape[env, g1]

        r0 = wp.vec3d(raw_f[row, w_frame + 0], raw_f[row, w_frame + 1], raw_f[row, w_frame + 2])
        r1 = wp.vec3d(raw_f[row, w_frame + 3], raw_f[row, w_frame + 4], raw_f[row, w_frame + 5])
        r2 = wp.vec3d(raw_f[row, w_frame + 6], raw_f[row, w_frame + 7], raw_f[row, w_frame + 8])
        normal_out[out] = wp.vec3(wp.float32(r0[0]), wp.float32(r0[1]), wp.float32(r0[2]))

        f = _contact_wrench(row, env, raw_f, raw_i, n_rows, efc_force, elliptic, w_friction, w_dim, w_efc_address)
        top = f[0] * r0 + f[1] * r1 + f[2] * r2
        bottom = f[3] * r0 + f[4] * r1 + f[5] * r2
        # Newton stores the wrench on shape 0
        force_out[out] = wp.spatial_vector(
            -wp.float32(top[0]), -wp.float32(top[1]), -wp.float32(top[2]),
            -wp.float32(bottom[0]), -wp.float32(bottom[1]), -wp.float32(bottom[2]),
        )

        pos = wp.vec3d(raw_f[row, w_pos + 0], raw_f[row, w_pos + 1], raw_f[row, w_pos + 2])
        half = raw_f[row, w_dist] * wp.float64(0.5) * r0
        point0[out] = _body_local(pos - half, env * nbody + geom_bodyid[g0], xpos, xmat)
        point1[out] = _body_local(pos + half, env * nbody + geom_bodyid[g1], xpos, xmat)


class ContactStaging:
    """Per-env contact slots, filled by the threads that step the envs (at most ``cap`` contacts per env).

    Per env ``i``: ``count[i]`` contacts kept (MuJoCo's ``ncon`` clipped to ``cap``; ``produced[i]``
    holds the unclipped number), ``raw[i]`` their ``mjContact`` structs as float64 words,
    ``efc_force[i]`` the env's constraint forces (first ``efc_rows`` rows, ``nefc[i]`` of them),
    ``xpos[i]``/``xmat[i]`` its body poses (world frame; [m], row-major rotation).
    The arrays are numpy views of Warp CPU arrays, which the conversion kernel reads.
    """

    def __init__(self, num_envs: int, cap: int, nbody: int, efc_rows: int, layout: ContactLayout | None = None):
        """Allocate zeroed slots.

        Args:
            num_envs: Envs (MuJoCo worlds).
            cap: Contact slots per env.
            nbody: MuJoCo bodies (world body included).
            efc_rows: Constraint rows kept per env (contacts addressing rows beyond get zero force).
            layout: ``mjContact`` layout; probed when None.
        """
        self.layout = layout or ContactLayout.probe()
        self.num_envs, self.cap, self.nbody = num_envs, cap, nbody
        words = self.layout.words
        dev = "cpu"
        self._wp_counts = wp.zeros(num_envs, dtype=wp.int32, device=dev)
        self._wp_starts = wp.zeros(num_envs, dtype=wp.int32, device=dev)
        self._wp_raw = wp.zeros((num_envs * cap, words), dtype=wp.float64, device=dev)
        self._wp_raw_i = wp.array(ptr=self._wp_raw.ptr, shape=(num_envs * cap, 2 * words), dtype=wp.int32, device=dev)
        self._wp_nefc = wp.zeros(num_envs, dtype=wp.int32, device=dev)
        self._wp_efc = wp.zeros((num_envs, max(1, efc_rows)), dtype=wp.float64, device=dev)
        self._wp_xpos = wp.zeros((num_envs * nbody, 3), dtype=wp.float64, device=dev)
        self._wp_xmat = wp.zeros((num_envs * nbody, 9), dtype=wp.float64, device=dev)
        self.count = self._wp_counts.numpy()
        self.starts = self._wp_starts.numpy()
        self.produced = np.zeros(num_envs, dtype=np.int64)
        self.raw = self._wp_raw.numpy().reshape(num_envs, cap, words)
        self.nefc = self._wp_nefc.numpy()
        self.efc_force = self._wp_efc.numpy()
        self.xpos = self._wp_xpos.numpy().reshape(num_envs, nbody, 3)
        self.xmat = self._wp_xmat.numpy().reshape(num_envs, nbody, 9)
        self._sources: dict[int, tuple[mujoco.MjData, np.ndarray]] = {}
        self._launch: Any = None
        self._launch_key: tuple | None = None
        self._no_force: wp.array | None = None

    def _contact_words(self, data: mujoco.MjData) -> np.ndarray:
        """``(cap, words)`` float64 view of ``data``'s contact array.

        MuJoCo keeps an ``MjData``'s contacts at the start of its arena (``mj_clearEfc`` sets
        ``d->contact = d->arena`` every step), so the view is made once per ``MjData`` and reused.
        """
        cached = self._sources.get(id(data))
        if cached is None or cached[0] is not data:
            address = data.contact.dist.__array_interface__["data"][0]
            buffer = (ctypes.c_double * (self.cap * self.layout.words)).from_address(address)
            cached = (data, np.frombuffer(buffer, dtype=np.float64).reshape(self.cap, self.layout.words))
            self._sources[id(data)] = cached
        return cached[1]

    def stage(self, env: int, data: mujoco.MjData) -> None:
        """Copy the contacts of ``data``, just stepped for env ``env``, into that env's slots."""
        n = data.ncon
        self.produced[env] = n
        n = min(n, self.cap)
        self.count[env] = n
        if n == 0:
            return
        self.raw[env, :n] = self._contact_words(data)[:n]
        nefc = min(data.nefc, self.efc_force.shape[1])
        self.nefc[env] = nefc
        self.efc_force[env, :nefc] = data.efc_force[:nefc]
        self.xpos[env] = data.xpos
        self.xmat[env] = data.xmat

    def prepare(self, contacts: Any) -> int:
        """Host side of the conversion: output offsets per env and the contact count of ``contacts``.

        Returns:
            Contacts MuJoCo produced that will not be reported (beyond ``cap`` per env or
            ``contacts.rigid_contact_max``).
        """
        np.cumsum(self.count, out=self.starts)
        total = int(self.starts[-1]) if self.num_envs else 0
        self.starts -= self.count
        reported = min(total, int(contacts.rigid_contact_max))
        contacts.rigid_contact_count.numpy()[0] = reported
        return int(self.produced.sum()) - reported

    def launch(self, contacts: Any, geom_to_shape: wp.array, geom_bodyid: wp.array, elliptic: bool) -> None:
        """Convert the staged contacts of all envs into Newton's ``contacts`` (one kernel; run :meth:`prepare` first).

        Args:
            contacts: A :class:`newton.Contacts` (rigid contact arrays and ``force``; CPU).
            geom_to_shape: ``(N, ngeom)`` int32 Newton shape of each MuJoCo geom per world.
            geom_bodyid: ``(ngeom,)`` int32 MuJoCo body of each geom.
            elliptic: True for elliptic friction cones.
        """
        max_contacts = int(contacts.rigid_contact_max)
        force = contacts.force
        key = (id(contacts), id(force), id(geom_to_shape), id(geom_bodyid), bool(elliptic), max_contacts)
        if self._launch is None or self._launch_key != key:
            lay = self.layout
            if force is None:
                self._no_force = wp.empty(max_contacts, dtype=wp.spatial_vector, device="cpu")
            self._launch = wp.launch(
                _convert_contacts_kernel,
                dim=self.num_envs,
                inputs=[
                    self._wp_counts, self._wp_starts, self._wp_raw, self._wp_raw_i, self._wp_nefc, self._wp_efc,
                    self._wp_xpos, self._wp_xmat, geom_to_shape, geom_bodyid, self.cap, self.nbody, int(bool(elliptic)),
                    max_contacts, lay.float_word("dist"), lay.float_word("pos"), lay.float_word("frame"),
                    lay.float_word("friction"), lay.int_word("dim"), lay.int_word("geom"), lay.int_word("efc_address"),
                ],
                outputs=[
                    contacts.rigid_contact_shape0, contacts.rigid_contact_shape1, contacts.rigid_contact_point0,
                    contacts.rigid_contact_point1, contacts.rigid_contact_normal,
                    force if force is not None else self._no_force,
                ],
                device="cpu",
                record_cmd=True,
            )
            self._launch_key = key
        self._launch.launch()

    def convert(self, contacts: Any, geom_to_shape: wp.array, geom_bodyid: wp.array, elliptic: bool) -> int:
        """:meth:`prepare` then :meth:`launch`; returns the contacts not reported."""
        dropped = self.prepare(contacts)
        self.launch(contacts, geom_to_shape, geom_bodyid, elliptic)
        return dropped
