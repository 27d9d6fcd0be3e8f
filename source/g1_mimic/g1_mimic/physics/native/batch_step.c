/* Batched MuJoCo C stepping of many envs in C threads, without the Python interpreter.
 *
 * One call of g1m_batch_step() does, for every env i (handed out one at a time to the threads
 * through an atomic counter, for load balance):
 *   mj_setState(models[i], data, state_in[i], spec_in)  -> mj_step x substeps -> mj_getState(state_out[i], spec_out),
 *   niter[i] = solver iterations of the last step,
 *   and, when asked, copies the env's contacts (raw mjContact structs), constraint forces and body
 *   poses into its staging slots, and its actuator forces.
 * `data` is one MjData per thread: an env's full input state is set before its step, so a data
 * holds nothing across envs (as in mujoco.rollout).
 *
 * Per-env model parameters, two ways:
 *   - models[i]: env i steps its own mjModel (patch == 0);
 *   - patched (patch != 0): each thread steps one working copy of the template model, and before
 *     env i's step the bytes in which env i's model differs from the template are copied into it:
 *     its mjOption and mjStatistic, then `nseg` byte ranges of the model buffer (the union over all
 *     envs of the differing ranges), from row i of `params`. The working model then equals models[i]
 *     byte for byte in everything mj_step reads, so the results are the same bit for bit; what
 *     changes is the memory the threads touch: ~8 kB per env (G1, 23 ranges) instead of one ~110 kB
 *     model buffer per env, which with 64 randomised envs do not fit the cores' caches (measured on
 *     the 2-core CPU at 64 envs: 15 % less time in this call, 11 % less per env step).
 *
 * `substeps` consecutive mj_step calls per env (a control period: the controls are held) keep the state in
 * the thread's MjData, in double precision, between them.
 *
 * It is g1_mimic.physics.mujoco_cpu_solver.BatchedMuJoCoSolver._run_envs (the Python path) in C:
 * same calls, same order per env, so the same results bit for bit. Called through ctypes, which
 * releases the GIL for the whole call: the Python per-env overhead (~10-15 us per env, serialised
 * by the GIL) disappears and every core steps envs.
 *
 * Built by g1_mimic.physics.native (gcc, against the headers and libmujoco of the installed
 * mujoco wheel) into a cache directory; see that module.
 */
#include <mujoco/mujoco.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define G1M_ABI_VERSION 3
#define G1M_MAX_THREADS 256

typedef struct {
  int64_t num_envs;
  int64_t num_threads;           /* threads stepping envs, the calling one included (<= G1M_MAX_THREADS) */
  const mjModel* const* models;  /* (num_envs,) model of each env */
  mjData* const* datas;          /* (num_threads,) one MjData per thread */
  const mjtNum* state_in;        /* (num_envs, nin) mj_getState layout of spec_in */
  int64_t nin;
  int64_t spec_in;
  mjtNum* state_out;             /* (num_envs, nout) mj_getState layout of spec_out */
  int64_t nout;
  int64_t spec_out;
  int64_t* niter;                /* (num_envs,) solver iterations of the env's step (island 0) */
  /* contact staging (used when stage != 0) */
  int64_t stage;
  int64_t cap;                   /* contact slots per env */
  int64_t efc_rows;              /* constraint-force rows kept per env */
  int64_t nbody;
  int32_t* count;                /* (num_envs,) contacts kept: min(ncon, cap) */
  int64_t* produced;             /* (num_envs,) ncon */
  mjContact* raw;                /* (num_envs, cap) raw contacts */
  int32_t* nefc;                 /* (num_envs,) constraint rows kept */
  mjtNum* efc_force;             /* (num_envs, efc_rows) */
  mjtNum* xpos;                  /* (num_envs, nbody, 3) */
  mjtNum* xmat;                  /* (num_envs, nbody, 9) */
  /* actuator forces (NULL: not requested) */
  mjtNum* qfrc_actuator;         /* (num_envs, nv) */
  int64_t nv;
  /* patched per-env parameters (used when patch != 0) */
  int64_t patch;
  mjModel* const* work_models;   /* (num_threads,) one working model per thread */
  int64_t nseg;
  const int64_t* seg_off;        /* (nseg,) byte offset of each range in the model buffer */
  const int64_t* seg_len;        /* (nseg,) bytes */
  const uint8_t* params;         /* (num_envs, nparam): mjOption, mjStatistic, then the ranges */
  int64_t nparam;
  int64_t substeps;              /* mj_step calls per env (>= 1) */
  /* work counter (set to 0 by g1m_batch_step) */
  int64_t next;
} g1m_batch;

typedef struct {
  g1m_batch* b;
  mjData* d;
  mjModel* work_model;           /* patched mode: this thread's working model */
} g1m_work;

int g1m_abi_version(void) { return G1M_ABI_VERSION; }
int64_t g1m_sizeof_contact(void) { return (int64_t)sizeof(mjContact); }
int64_t g1m_sizeof_batch(void) { return (int64_t)sizeof(g1m_batch); }

/* Where a model keeps what the patched mode copies (for the Python side, which builds `params`). */
int64_t g1m_sizeof_option(void) { return (int64_t)sizeof(mjOption); }
int64_t g1m_sizeof_statistic(void) { return (int64_t)sizeof(mjStatistic); }
void* g1m_model_option(mjModel* m) { return &m->opt; }
void* g1m_model_statistic(mjModel* m) { return &m->stat; }
void* g1m_model_buffer(mjModel* m) { return m->buffer; }
int64_t g1m_model_nbuffer(const mjModel* m) { return (int64_t)m->nbuffer; }

/* Make the working model `m` env i's model (see the patched mode above). */
static void g1m_patch(const g1m_batch* b, int64_t i, mjModel* m) {
  const uint8_t* src = b->params + i * b->nparam;
  memcpy(&m->opt, src, sizeof(mjOption));
  src += sizeof(mjOption);
  memcpy(&m->stat, src, sizeof(mjStatistic));
  src += sizeof(mjStatistic);
  uint8_t* buffer = (uint8_t*)m->buffer;
  for (int64_t k = 0; k < b->nseg; k++) {
    memcpy(buffer + b->seg_off[k], src, (size_t)b->seg_len[k]);
    src += b->seg_len[k];
  }
}

static void g1m_stage(g1m_batch* b, int64_t i, const mjData* d) {
  int64_t n = d->ncon;
  b->produced[i] = n;
  if (n > b->cap) n = b->cap;
  b->count[i] = (int32_t)n;
  if (n == 0) return;
  memcpy(b->raw + i * b->cap, d->contact, (size_t)n * sizeof(mjContact));
  int64_t nefc = d->nefc < b->efc_rows ? d->nefc : b->efc_rows;
  b->nefc[i] = (int32_t)nefc;
  memcpy(b->efc_force + i * b->efc_rows, d->efc_force, (size_t)nefc * sizeof(mjtNum));
  memcpy(b->xpos + i * b->nbody * 3, d->xpos, (size_t)(b->nbody * 3) * sizeof(mjtNum));
  memcpy(b->xmat + i * b->nbody * 9, d->xmat, (size_t)(b->nbody * 9) * sizeof(mjtNum));
}

static void* g1m_run(void* arg) {
  g1m_work* w = (g1m_work*)arg;
  g1m_batch* b = w->b;
  mjData* d = w->d;
  for (;;) {
    int64_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
    if (i >= b->num_envs) break;
    const mjModel* m = b->models[i];
    if (b->patch) {
      g1m_patch(b, i, w->work_model);
      m = w->work_model;
    }
    mj_setState(m, d, b->state_in + i * b->nin, (int)b->spec_in);
    for (int64_t k = 0; k < b->substeps; k++) mj_step(m, d);
    mj_getState(m, d, b->state_out + i * b->nout, (int)b->spec_out);
    b->niter[i] = d->solver_niter[0];
    if (b->stage) g1m_stage(b, i, d);
    if (b->qfrc_actuator) memcpy(b->qfrc_actuator + i * b->nv, d->qfrc_actuator, (size_t)b->nv * sizeof(mjtNum));
  }
  return NULL;
}

/* Step every env `substeps` times. Returns 0, or -1 for a bad thread or substep count, -2 when a
 * thread could not be started (the envs are then all stepped by the threads that did start). */
int g1m_batch_step(g1m_batch* b) {
  if (b->num_threads < 1 || b->num_threads > G1M_MAX_THREADS || b->substeps < 1) return -1;
  pthread_t threads[G1M_MAX_THREADS];
  g1m_work work[G1M_MAX_THREADS];
  int started[G1M_MAX_THREADS];
  int status = 0;
  b->next = 0;
  int64_t extra = b->num_threads - 1;
  if (extra > b->num_envs - 1) extra = b->num_envs - 1 > 0 ? b->num_envs - 1 : 0;
  for (int64_t t = 0; t < extra; t++) {
    work[t + 1].b = b;
    work[t + 1].d = b->datas[t + 1];
    work[t + 1].work_model = b->patch ? b->work_models[t + 1] : NULL;
    started[t + 1] = pthread_create(&threads[t + 1], NULL, g1m_run, &work[t + 1]) == 0;
    if (!started[t + 1]) status = -2;
  }
  work[0].b = b;
  work[0].d = b->datas[0];
  work[0].work_model = b->patch ? b->work_models[0] : NULL;
  g1m_run(&work[0]);
  for (int64_t t = 0; t < extra; t++) {
    if (started[t + 1]) pthread_join(threads[t + 1], NULL);
  }
  return status;
}
