#include <glib/gi18n.h>
#include <string.h>

#include "bs-calibration.h"
#include "bs-error.h"
#include "bs-infer.h"
#include "bs-inference-worker.h"
#include "bs-main-post.h"
#include "bs-preprocess.h"
#include "bs-segment.h"

/* ---- BsInferenceInput ---- */

static void
input_clear (gpointer data)
{
  BsInferenceInput *input = data;

  g_clear_pointer (&input->net, bs_unet_free);
  g_clear_pointer (&input->prepared, bs_volume_free);
}

BsInferenceInput *
bs_inference_input_new (BsUnet *net, BsVolume *prepared)
{
  BsInferenceInput *input = g_atomic_rc_box_new0 (BsInferenceInput);

  input->net = net;
  input->prepared = prepared;
  return input;
}

BsInferenceInput *
bs_inference_input_ref (BsInferenceInput *input)
{
  return g_atomic_rc_box_acquire (input);
}

void
bs_inference_input_unref (BsInferenceInput *input)
{
  g_atomic_rc_box_release_full (input, input_clear);
}

/* ---- The worker ---- */

struct _BsInferenceWorker
{
  GObject parent_instance;

  GThread *thread;
  GMainContext *main_context;

  /* Shared with the thread, under lock. */
  GMutex lock;
  GCond cond;
  gboolean quit;
  guint job_serial;
  BsInferenceInput *job_input;
  BsPlane job_plane;
  BsPlanOptions job_opts;
  guint job_generation;
  gboolean has_request;
  guint request_serial;
  guint request_generation;
  int request_slice;
  gboolean fill_enabled;

  /* Main thread only: results of any other generation are dropped. */
  guint current_generation;
};

G_DEFINE_FINAL_TYPE (BsInferenceWorker, bs_inference_worker, G_TYPE_OBJECT)

enum {
  SIGNAL_SLICES_READY,
  SIGNAL_PLAN_READY,
  SIGNAL_FAILED,
  SIGNAL_FINISHED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

typedef enum {
  MSG_SLICES,
  MSG_PLAN,
  MSG_FAILED,
  MSG_FINISHED,
} MsgKind;

typedef struct {
  GWeakRef worker;
  MsgKind kind;
  BsInferenceResult result;
  float *probs;
  char *text;
  GError *error;
} Msg;

static void
msg_free (gpointer data)
{
  Msg *msg = data;

  g_weak_ref_clear (&msg->worker);
  g_free (msg->probs);
  g_free (msg->text);
  g_clear_error (&msg->error);
  g_free (msg);
}

static gboolean
msg_dispatch (gpointer data)
{
  Msg *msg = data;
  g_autoptr(BsInferenceWorker) self = g_weak_ref_get (&msg->worker);

  if (self == NULL || msg->result.generation != self->current_generation)
    return G_SOURCE_REMOVE;

  switch (msg->kind)
    {
    case MSG_SLICES:
      msg->result.probs = msg->probs;
      g_signal_emit (self, signals[SIGNAL_SLICES_READY], 0, &msg->result);
      break;
    case MSG_PLAN:
      g_signal_emit (self, signals[SIGNAL_PLAN_READY], 0, msg->result.generation, msg->text);
      break;
    case MSG_FAILED:
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, msg->result.generation, msg->error);
      break;
    case MSG_FINISHED:
      g_signal_emit (self, signals[SIGNAL_FINISHED], 0, msg->result.generation);
      break;
    }
  return G_SOURCE_REMOVE;
}

static Msg *
msg_new (BsInferenceWorker *self, MsgKind kind, guint generation)
{
  Msg *msg = g_new0 (Msg, 1);

  g_weak_ref_init (&msg->worker, self);
  msg->kind = kind;
  msg->result.generation = generation;
  return msg;
}

static void
msg_post (BsInferenceWorker *self, Msg *msg)
{
  bs_main_post (self->main_context, "bs-inference-result", msg_dispatch, msg, msg_free);
}

/* What the thread knows about the job it runs. */
typedef struct {
  guint serial;
  BsInferenceInput *input;
  BsPlane plane;
  BsPlanOptions opts;
  guint generation;
  /* The volume runs in slabs, each on its own window, as bs_segment cuts
   * them (bs_infer_geometry_slabs), so that the window's volume is the one
   * `infer` writes; each slab's plans are built when it first runs.  plan
   * and fill point at the first slab's that were built (for the plan line). */
  BsInferGeometry **slabs;
  int n_slabs;
  guint8 *slab_of;       /* n_slices: the slab of each brain slice */
  BsPlan **plans;        /* n_slabs: the visible slice's plan of each slab, or NULL */
  BsPlan **fills;        /* n_slabs: its fill plan on lanes, or NULL */
  gboolean *fill_failed; /* n_slabs: building that fill plan failed (the slab fills on its plan) */
  BsPlan *plan;
  /* The rest of the volume, on lanes (bs_plan_get_lanes) when the options
   * ask for them: built after the first visible slice, else NULL (then the
   * fill runs on plan). */
  BsPlan *fill;
  gboolean fill_tried;
  int fill_max;          /* slices a fill run takes: batch, or batch x lanes */
  gboolean failed;
  gboolean finished_sent;
  int width, height, ph, pw, n_slices;
  BsInferGeometry *geom;   /* which slices run, on which window */
  guint8 *done;
  int n_done;
  int fill_cursor;
  float *in_buf;
  float *out_buf;        /* fill_max x n_outputs x ph x pw */
  int n_outputs;
  /* int8 calibration, kept while input and plane stay the same. */
  BsCalibration *cal;
  BsInferenceInput *cal_input;
  BsPlane cal_plane;
  gboolean cal_crop;
  gboolean cal_per_case;
} Job;

static void
job_reset (Job *job)
{
  for (int i = 0; i < job->n_slabs; i++)
    {
      g_clear_pointer (&job->plans[i], bs_plan_free);
      g_clear_pointer (&job->fills[i], bs_plan_free);
      g_clear_pointer (&job->slabs[i], bs_infer_geometry_free);
    }
  g_clear_pointer (&job->plans, g_free);
  g_clear_pointer (&job->fills, g_free);
  g_clear_pointer (&job->fill_failed, g_free);
  g_clear_pointer (&job->slabs, g_free);
  g_clear_pointer (&job->slab_of, g_free);
  job->n_slabs = 0;
  job->plan = job->fill = NULL;
  job->fill_tried = FALSE;
  g_clear_pointer (&job->input, bs_inference_input_unref);
  g_clear_pointer (&job->done, g_free);
  g_clear_pointer (&job->geom, bs_infer_geometry_free);
  g_clear_pointer (&job->in_buf, g_free);
  g_clear_pointer (&job->out_buf, g_free);
  job->failed = FALSE;
  job->finished_sent = FALSE;
  job->n_done = 0;
  job->fill_cursor = 0;
}

static void
job_clear_calibration (Job *job)
{
  g_clear_pointer (&job->cal, bs_calibration_free);
  g_clear_pointer (&job->cal_input, bs_inference_input_unref);
}

/* The layout as the plan line names it: its option value, "blocked" in the
 * user's language like the Blocked button beside it (walk finding: German
 * read "blocked · fusioniert" beside "Geblockt"). */
static const char *
layout_text (BsMemLayout layout)
{
  /* TRANSLATORS: the blocked memory layout in the plan line, as the Layout button names it, in lower case */
  return layout == BS_MEMLAYOUT_BLOCKED ? C_("plan line", "blocked") : bs_memlayout_name (layout);
}

static char *
describe_plan (const Job *job)
{
  const BsPlanOptions *o = &job->opts;
  int threads = bs_plan_get_threads (job->plan);
  g_autofree char *threads_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d thread", "%d threads", threads),
                                                   threads);
  g_autofree char *base = NULL;

  if (job->geom->cropped)
    base = g_strdup_printf (_("%s · %s · %s · %d×%d brain window, %d of %d slices · batch %d · %s"),
                            bs_precision_name (o->precision), layout_text (o->layout),
                            o->fusion ? _("fused") : _("unfused"), job->pw, job->ph, job->geom->n_brain,
                            job->n_slices, o->batch, threads_text);
  else
    base = g_strdup_printf (_("%s · %s · %s · %d×%d · batch %d · %s"),
                            bs_precision_name (o->precision), layout_text (o->layout),
                            o->fusion ? _("fused") : _("unfused"), job->pw, job->ph, o->batch, threads_text);
  if (job->fill != NULL)
    {
      /* TRANSLATORS: appended to the plan line; the rest of the volume runs on copies of the network */
      char *with = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · fill on %d lane", "%s · fill on %d lanes",
                                                 bs_plan_get_lanes (job->fill)),
                                    base, bs_plan_get_lanes (job->fill));

      g_free (base);
      base = with;
    }
  if (o->test_time_flips)
    {
      /* TRANSLATORS: appended to the plan line; the network runs twice per slice */
      char *with = g_strdup_printf (_("%s · test-time flips (2 passes)"), base);

      g_free (base);
      base = with;
    }
  if (o->precision == BS_PRECISION_INT8 && job->cal != NULL)
    {
      g_autofree char *cal = bs_calibration_describe (job->cal);
      char *with = g_strdup_printf ("%s · %s", base, cal);

      g_free (base);
      base = with;
    }
  /* (the session adds "three planes": it runs those passes itself) */
  return g_steal_pointer (&base);
}

/* The fill plan, once: lanes of single-thread copies that share out the
 * rest of the volume (no barriers between threads, so a core that another
 * program holds slows one lane).  Without lanes the fill stays on the
 * visible slice's plan.  A failure here only means no lanes. */
/* Slab i's fill plan on lanes, built on first use; NULL when there are no
 * lanes (the fill then runs on the slab's plan).  A failure only means no
 * lanes. */
static BsPlan *
slab_fill (Job *job, int i)
{
  BsPlanOptions o = job->opts;
  g_autoptr(GError) error = NULL;
  const BsInferGeometry *g = job->slabs[i];

  if (job->fill == NULL)
    return NULL;   /* no lanes for this job */
  if (job->fills[i] != NULL || job->fill_failed[i])
    return job->fills[i];
  o.slice_parallel = TRUE;
  job->fills[i] = bs_plan_new (job->input->net, g->ph, g->pw, &o, job->cal, &error);
  if (job->fills[i] == NULL)
    g_debug ("no fill lanes: %s", error->message);
  else if (bs_plan_get_lanes (job->fills[i]) <= 1)
    g_clear_pointer (&job->fills[i], bs_plan_free);
  job->fill_failed[i] = job->fills[i] == NULL;
  return job->fills[i];
}

static void
job_build_fill (BsInferenceWorker *self, Job *job)
{
  BsPlanOptions o = job->opts;
  g_autoptr(GError) error = NULL;
  const BsInferGeometry *g;
  int i = 0;
  Msg *msg;

  job->fill_tried = TRUE;
  if (!self->job_opts.slice_parallel || o.profile_layers)
    return;
  /* the lanes of the slab the fill starts in */
  if (job->fill_cursor >= 0 && job->fill_cursor < job->n_slices && job->slab_of[job->fill_cursor] < job->n_slabs)
    i = job->slab_of[job->fill_cursor];
  g = job->slabs[i];
  o.slice_parallel = TRUE;
  job->fills[i] = bs_plan_new (job->input->net, g->ph, g->pw, &o, job->cal, &error);
  if (job->fills[i] == NULL)
    {
      g_debug ("no fill lanes: %s", error->message);
      return;
    }
  if (bs_plan_get_lanes (job->fills[i]) <= 1)
    {
      g_clear_pointer (&job->fills[i], bs_plan_free);
      return;
    }
  job->fill = job->fills[i];
  job->fill_max = job->opts.batch * bs_plan_get_lanes (job->fill);
  job->in_buf = g_renew (float, job->in_buf,
                         (gsize) job->fill_max * bs_infer_slice_floats (job->input->prepared, job->geom));
  job->out_buf = g_renew (float, job->out_buf, (gsize) job->fill_max * job->n_outputs * job->ph * job->pw);
  msg = msg_new (self, MSG_PLAN, job->generation);
  msg->text = describe_plan (job);
  msg_post (self, msg);
}

static gboolean
job_build_plan (BsInferenceWorker *self, Job *job)
{
  g_autoptr(GError) error = NULL;
  const BsCalibration *cal = NULL;

  if (job->opts.precision == BS_PRECISION_INT8)
    {
      if (job->cal == NULL || job->cal_input != job->input || job->cal_plane != job->plane ||
          job->cal_crop != job->geom->cropped || job->cal_per_case != job->opts.calibrate_case)
        {
          job_clear_calibration (job);
          job->cal = bs_calibration_new_for_case (job->input->net, job->input->prepared, job->geom,
                                                 job->opts.calibrate_case, &error);
          if (job->cal != NULL)
            {
              job->cal_input = bs_inference_input_ref (job->input);
              job->cal_plane = job->plane;
              job->cal_crop = job->geom->cropped;
              job->cal_per_case = job->opts.calibrate_case;
            }
        }
      cal = job->cal;
    }
  if (error == NULL)
    {
      /* the slab of the middle slice first: where a case opens */
      int i = job->slab_of[job->n_slices / 2] < job->n_slabs ? job->slab_of[job->n_slices / 2] : 0;

      job->plans[i] = bs_plan_new (job->input->net, job->slabs[i]->ph, job->slabs[i]->pw, &job->opts, cal, &error);
      job->plan = job->plans[i];
    }
  if (job->plan == NULL)
    {
      Msg *msg = msg_new (self, MSG_FAILED, job->generation);

      msg->error = g_steal_pointer (&error);
      msg_post (self, msg);
      job->failed = TRUE;
      return FALSE;
    }
  {
    Msg *msg = msg_new (self, MSG_PLAN, job->generation);

    msg->text = describe_plan (job);
    msg_post (self, msg);
  }
  return TRUE;
}

static void
job_adopt (BsInferenceWorker *self, Job *job)
{
  job_reset (job);
  job->serial = self->job_serial;
  if (self->job_input == NULL)
    return;
  job->input = bs_inference_input_ref (self->job_input);
  job->plane = self->job_plane;
  job->opts = self->job_opts;
  job->opts.batch = MAX (1, job->opts.batch);
  /* The visible slice comes first and alone: every thread on its primitives. */
  job->opts.slice_parallel = FALSE;
  job->generation = self->job_generation;
  job->n_slices = bs_volume_n_slices (job->input->prepared, job->plane);
  bs_volume_slice_size (job->input->prepared, job->plane, &job->width, &job->height);
  job->geom = bs_infer_geometry_new_for_net (job->input->net, job->input->prepared, job->plane,
                                             job->opts.crop_to_brain);
  job->ph = job->geom->ph;
  job->pw = job->geom->pw;
  job->slabs = bs_segment_slabs (job->geom, NULL, job->opts.precision, &job->n_slabs);
  job->slab_of = g_new (guint8, MAX (job->n_slices, 1));
  memset (job->slab_of, 255, MAX (job->n_slices, 1));
  for (int i = 0; i < job->n_slabs; i++)
    for (int k = 0; k < job->n_slices; k++)
      if (job->slabs[i]->brain[k])
        job->slab_of[k] = (guint8) i;
  job->plans = g_new0 (BsPlan *, job->n_slabs);
  job->fills = g_new0 (BsPlan *, job->n_slabs);
  job->fill_failed = g_new0 (gboolean, job->n_slabs);
  job->done = g_new0 (guint8, job->n_slices);
  job->fill_max = job->opts.batch;
  job->in_buf = g_new (float, (gsize) job->opts.batch * bs_infer_slice_floats (job->input->prepared, job->geom));
  /* One map per output: 1, or 3 for a region model (WT, TC, ET). */
  job->n_outputs = MAX (1, job->input->net->config.out_channels);
  job->out_buf = g_new (float, (gsize) job->opts.batch * job->n_outputs * job->ph * job->pw);
}

/* Runs slices first .. first + n - 1 and posts them: each run of them in
 * one slab on that slab's window and plan (the fill's lanes unless visible). */
static void
job_run (BsInferenceWorker *self, Job *job, int first, int n, gboolean visible)
{
  g_autoptr(GError) error = NULL;
  BsTiming timing;
  gsize px = (gsize) job->width * job->height;
  int n_run = 0;
  Msg *msg;

  bs_timing_reset (&timing);
  msg = msg_new (self, MSG_SLICES, job->generation);
  msg->probs = g_new0 (float, px * n * job->n_outputs);
  /* Only slices with brain go through the network; the others are 0. */
  for (int a = 0; a < n;)
    {
      int slab = job->slab_of[first + a], b = a, run[n], m = 0, step;
      const BsInferGeometry *g;
      gsize per_in, per_map, per_out;
      BsPlan *plan;
      double t0;

      if (slab >= job->n_slabs)
        {
          a++;
          continue;
        }
      while (b < n && job->slab_of[first + b] == slab)
        b++;
      g = job->slabs[slab];
      per_in = bs_infer_slice_floats (job->input->prepared, g);
      per_map = (gsize) g->ph * g->pw;
      per_out = per_map * job->n_outputs;
      if (job->plans[slab] == NULL)
        job->plans[slab] = bs_plan_new (job->input->net, g->ph, g->pw, &job->opts, job->cal, &error);
      plan = visible || job->fill == NULL ? NULL : slab_fill (job, slab);
      /* without lanes, the slab's own plan a batch at a time */
      step = plan != NULL ? b - a : job->opts.batch;
      if (plan == NULL)
        plan = job->plans[slab];
      if (plan == NULL)
        goto failed;
      t0 = bs_now_ms ();
      for (int i = a; i < b; i++)
        {
          bs_infer_fill_slice (job->input->prepared, g, first + i, job->in_buf + per_in * m);
          run[m++] = i;
        }
      bs_timing_add_stage (&timing, "preprocess", bs_now_ms () - t0);
      for (int o = 0; o < m; o += step)
        if (!bs_plan_run (plan, job->in_buf + per_in * o, MIN (step, m - o), job->out_buf + per_out * o, &timing,
                          &error))
          goto failed;
      t0 = bs_now_ms ();
      for (int i = 0; i < m; i++)
        for (int c = 0; c < job->n_outputs; c++)
          bs_infer_window_to_slice (g, job->in_buf + per_in * i, job->input->prepared->n_channels,
                                    job->out_buf + per_out * i + per_map * c,
                                    msg->probs + px * ((gsize) run[i] * job->n_outputs + c));
      bs_timing_add_stage (&timing, "output", bs_now_ms () - t0);
      n_run += m;
      a = b;
    }
  timing.n_slices = n_run;
  timing.total_ms = 0;
  for (int i = 0; i < timing.n_stages; i++)
    timing.total_ms += timing.stages[i].ms;

  for (int i = 0; i < n; i++)
    if (!job->done[first + i])
      {
        job->done[first + i] = 1;
        job->n_done++;
      }
  msg->result.plane = job->plane;
  msg->result.first = first;
  msg->result.n = n;
  msg->result.width = job->width;
  msg->result.height = job->height;
  msg->result.channels = job->n_outputs;
  msg->result.visible = visible;
  msg->result.timing = timing;
  msg->result.done = job->n_done;
  msg->result.total = job->n_slices;
  msg_post (self, msg);
  return;

failed:
  msg_free (msg);
  msg = msg_new (self, MSG_FAILED, job->generation);
  msg->error = g_steal_pointer (&error);
  msg_post (self, msg);
  job->failed = TRUE;
}

/* The next contiguous run of unfinished slices, at most batch long, starting
 * from where the fill last stopped (it follows the visible slice). */
static gboolean
job_next_batch (Job *job, int *first, int *n)
{
  for (int k = 0; k < job->n_slices; k++)
    {
      int s = (job->fill_cursor + k) % job->n_slices;

      if (job->done[s])
        continue;
      *first = s;
      *n = 0;
      while (s + *n < job->n_slices && *n < job->fill_max && !job->done[s + *n])
        (*n)++;
      return TRUE;
    }
  return FALSE;
}

static gpointer
worker_thread (gpointer data)
{
  BsInferenceWorker *self = data;
  Job job = { 0 };

  job.serial = 0;
  g_mutex_lock (&self->lock);
  for (;;)
    {
      int visible = -1;
      guint request_serial = 0;
      gboolean fill, served;
      int first, n;

      if (self->quit)
        break;
      if (job.serial != self->job_serial)
        {
          job_adopt (self, &job);
          continue;
        }
      if (self->has_request && self->request_generation != job.generation)
        self->has_request = FALSE;
      if (job.input != NULL && !job.failed && self->has_request)
        {
          visible = self->request_slice;
          request_serial = self->request_serial;
        }
      fill = job.input != NULL && !job.failed && self->fill_enabled && job.n_done < job.n_slices;

      if (visible < 0 && !fill)
        {
          if (job.input != NULL && !job.failed && job.n_done == job.n_slices && !job.finished_sent)
            {
              msg_post (self, msg_new (self, MSG_FINISHED, job.generation));
              job.finished_sent = TRUE;
            }
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }

      g_mutex_unlock (&self->lock);
      served = FALSE;
      if (job.plan == NULL)
        job_build_plan (self, &job);
      else if (visible >= 0)
        {
          if (visible < job.n_slices && !job.done[visible])
            job_run (self, &job, visible, 1, TRUE);
          if (visible < job.n_slices)
            job.fill_cursor = visible;
          served = TRUE;
        }
      else if (visible < 0 && !job.fill_tried)
        job_build_fill (self, &job);
      else if (visible < 0 && job_next_batch (&job, &first, &n))
        {
          job_run (self, &job, first, n, FALSE);
          job.fill_cursor = first + n;
        }
      g_mutex_lock (&self->lock);

      /* Answered, unless a newer request came in meanwhile. */
      if (served && self->request_serial == request_serial)
        self->has_request = FALSE;
    }
  g_mutex_unlock (&self->lock);
  job_reset (&job);
  job_clear_calibration (&job);
  return NULL;
}

static void
bs_inference_worker_dispose (GObject *object)
{
  BsInferenceWorker *self = BS_INFERENCE_WORKER (object);

  if (self->thread != NULL)
    {
      g_mutex_lock (&self->lock);
      self->quit = TRUE;
      g_cond_signal (&self->cond);
      g_mutex_unlock (&self->lock);
      g_thread_join (g_steal_pointer (&self->thread));
    }
  g_clear_pointer (&self->job_input, bs_inference_input_unref);
  G_OBJECT_CLASS (bs_inference_worker_parent_class)->dispose (object);
}

static void
bs_inference_worker_finalize (GObject *object)
{
  BsInferenceWorker *self = BS_INFERENCE_WORKER (object);

  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_main_context_unref (self->main_context);
  G_OBJECT_CLASS (bs_inference_worker_parent_class)->finalize (object);
}

static void
bs_inference_worker_class_init (BsInferenceWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bs_inference_worker_dispose;
  object_class->finalize = bs_inference_worker_finalize;

  signals[SIGNAL_SLICES_READY] =
    g_signal_new ("slices-ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_PLAN_READY] =
    g_signal_new ("plan-ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  signals[SIGNAL_FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_ERROR);
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
bs_inference_worker_init (BsInferenceWorker *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->fill_enabled = TRUE;
  self->main_context = g_main_context_ref_thread_default ();
  self->thread = g_thread_new ("bs-inference", worker_thread, self);
}

BsInferenceWorker *
bs_inference_worker_new (void)
{
  return g_object_new (BS_TYPE_INFERENCE_WORKER, NULL);
}

void
bs_inference_worker_set_job (BsInferenceWorker *self, BsInferenceInput *input, BsPlane plane,
                             const BsPlanOptions *opts, guint generation)
{
  g_return_if_fail (BS_IS_INFERENCE_WORKER (self));

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->job_input, bs_inference_input_unref);
  self->job_input = input != NULL ? bs_inference_input_ref (input) : NULL;
  self->job_plane = plane;
  self->job_opts = *opts;
  self->job_generation = generation;
  self->job_serial++;
  self->has_request = FALSE;
  self->fill_enabled = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  self->current_generation = generation;
}

void
bs_inference_worker_request_slice (BsInferenceWorker *self, guint generation, int slice)
{
  g_return_if_fail (BS_IS_INFERENCE_WORKER (self));

  g_mutex_lock (&self->lock);
  self->has_request = TRUE;
  self->request_serial++;
  self->request_generation = generation;
  self->request_slice = slice;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
bs_inference_worker_cancel_fill (BsInferenceWorker *self)
{
  g_mutex_lock (&self->lock);
  self->fill_enabled = FALSE;
  g_mutex_unlock (&self->lock);
}

void
bs_inference_worker_resume_fill (BsInferenceWorker *self)
{
  g_mutex_lock (&self->lock);
  self->fill_enabled = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
bs_inference_worker_clear (BsInferenceWorker *self)
{
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->job_input, bs_inference_input_unref);
  self->job_serial++;
  self->has_request = FALSE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  self->current_generation = 0;
}
