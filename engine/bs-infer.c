/* Whole-volume inference: displayed slices in, probability maps back out. */
#include <glib/gi18n.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-preprocess.h"

BsVolume *
bs_infer_prepare (const BsUnet *net, const BsVolume *image, GError **error)
{
  int n = net->config.in_channels;
  g_autoptr(BsVolume) out = NULL;
  gsize nvox = bs_volume_n_voxels (image);

  out = bs_volume_new_like (image, n);
  if (!out)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: the volume is too large to prepare"),
                   image->path ? image->path : _("image"));
      return NULL;
    }
  for (int i = 0; i < n; i++)
    {
      const char *want = net->config.modalities && net->config.modalities[i] ? net->config.modalities[i] : "FLAIR";
      int c = bs_volume_find_channel (image, want);

      /* A lone unnamed channel is what a single-modality file gives. */
      if (c < 0 && n == 1 && image->n_channels == 1)
        c = 0;
      if (c < 0)
        {
          g_autofree char *have = image->channel_names ? g_strjoinv (", ", image->channel_names) : g_strdup ("-");
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: the model needs the %s modality, but the image has only %s"),
                       image->path ? image->path : _("image"), want, have);
          return NULL;
        }
      memcpy (bs_volume_channel (out, i), bs_volume_channel (image, c), nvox * sizeof (float));
      g_free (out->channel_names[i]);
      out->channel_names[i] = g_strdup (want);
    }
  out->path = g_strdup (image->path);
  bs_preprocess_normalize (out);
  return g_steal_pointer (&out);
}

void
bs_infer_padded_size (const BsVolume *prepared, BsPlane plane, int *h, int *w)
{
  int sw, sh;

  bs_volume_slice_size (prepared, plane, &sw, &sh);
  if (h)
    *h = bs_preprocess_round16 (sh);
  if (w)
    *w = bs_preprocess_round16 (sw);
}

void
bs_infer_fill_input (const BsVolume *prepared, BsPlane plane, int first, int n, int ph, int pw, float *input)
{
  int sw, sh, c = prepared->n_channels;
  g_autofree float *slice = NULL;

  bs_volume_slice_size (prepared, plane, &sw, &sh);
  slice = g_new (float, (gsize) sw * sh);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < c; k++)
      {
        bs_volume_get_slice (prepared, k, plane, first + i, slice);
        bs_preprocess_crop_or_pad (slice, sw, sh, input + ((gsize) i * c + k) * ph * pw, pw, ph);
      }
}

void
bs_infer_store_output (BsVolume *prob, BsPlane plane, int first, int n, int ph, int pw, const float *probs)
{
  int sw, sh;
  g_autofree float *slice = NULL;

  bs_volume_slice_size (prob, plane, &sw, &sh);
  slice = g_new (float, (gsize) sw * sh);
  for (int i = 0; i < n; i++)
    {
      bs_preprocess_crop_or_pad (probs + (gsize) i * ph * pw, pw, ph, slice, sw, sh);
      bs_volume_set_slice (prob, 0, plane, first + i, slice);
    }
}

gboolean
bs_infer_volume (BsPlan *plan, const BsVolume *prepared, BsPlane plane, BsVolume *prob, BsTiming *timing,
                 BsInferProgress progress, gpointer user_data, GCancellable *cancellable, GError **error)
{
  int ph, pw, batch, want_h, want_w;
  int total = bs_volume_n_slices (prepared, plane);
  g_autofree float *input = NULL;
  g_autofree float *probs = NULL;

  bs_plan_get_size (plan, &ph, &pw, &batch);
  bs_infer_padded_size (prepared, plane, &want_h, &want_w);
  if (ph != want_h || pw != want_w)
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE,
                   _("The inference plan is for %dx%d slices, but %s slices pad to %dx%d"), pw, ph,
                   bs_plane_name (plane), want_w, want_h);
      return FALSE;
    }
  input = g_new (float, (gsize) batch * prepared->n_channels * ph * pw);
  probs = g_new (float, (gsize) batch * ph * pw);
  for (int first = 0; first < total; first += batch)
    {
      int n = MIN (batch, total - first);
      double t0;

      if (g_cancellable_is_cancelled (cancellable))
        {
          g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_CANCELLED, _("Inference was cancelled"));
          return FALSE;
        }
      t0 = bs_now_ms ();
      bs_infer_fill_input (prepared, plane, first, n, ph, pw, input);
      if (timing)
        bs_timing_add_stage (timing, "preprocess", bs_now_ms () - t0);
      if (!bs_plan_run (plan, input, n, probs, timing, error))
        return FALSE;
      t0 = bs_now_ms ();
      bs_infer_store_output (prob, plane, first, n, ph, pw, probs);
      if (timing)
        bs_timing_add_stage (timing, "output", bs_now_ms () - t0);
      if (progress)
        progress (first + n, total, user_data);
    }
  return TRUE;
}
