/* libFuzzer target: the NIfTI reader on arbitrary bytes, plain and as a
 * label.  Any input must give a volume or a GError, never a crash. */
#include <stddef.h>
#include <stdint.h>

#include "bs-nifti.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  for (int as_label = 0; as_label < 2; as_label++)
    {
      GError *error = NULL;
      BsVolume *vol = bs_volume_load_nifti_from_bytes (data, size, "fuzz.nii", as_label, &error);
      if (vol)
        {
          char code[4];
          float lo, hi;
          bs_volume_orientation_code (vol, code);
          bs_volume_value_range (vol, 0, &lo, &hi);
          bs_volume_free (vol);
        }
      else if (error == NULL)
        __builtin_trap (); /* a failure must always say why */
      g_clear_error (&error);
    }
  return 0;
}
