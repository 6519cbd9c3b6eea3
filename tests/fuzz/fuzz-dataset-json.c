/* libFuzzer target: Decathlon dataset.json parsing on arbitrary text.  The
 * task folder does not exist, so every listed file is "missing": the parser
 * must still walk every member and fail or succeed cleanly. */
#include <stddef.h>
#include <stdint.h>

#include "bs-dataset.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  BsDataset *ds = bs_dataset_open_decathlon_json ("/nonexistent-brainseg-fuzz", (const char *) data,
                                                  (gssize) size, &error);
  if (ds)
    {
      for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
        (void) bs_dataset_get_case_id (ds, i);
      bs_dataset_free (ds);
    }
  else if (error == NULL)
    __builtin_trap ();
  g_clear_error (&error);
  return 0;
}
