/* results/run_index.h — the HDF5 compound types of results.h5's /index and /evals tables: the
 * memory types match RunIndexRow / RunEvalRow (results/run_file.h) member for member; the file
 * types are their packed copies. Close each with H5Tclose. */
#ifndef CLIPGRID_RESULTS_RUN_INDEX_H
#define CLIPGRID_RESULTS_RUN_INDEX_H

#include <hdf5.h>

hid_t run_index_mem_type(void);
hid_t run_eval_mem_type(void);
hid_t run_table_file_type(hid_t mem_type);

#endif
