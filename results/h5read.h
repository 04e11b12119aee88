/* results/h5read.h — small readers for HDF5 files made by other tools (the official golden
 * fixtures, the PyTorch references): datasets as float32/int host arrays, string and number
 * attributes. Every failure sets cg_error with the file and the object name. */
#ifndef CLIPGRID_RESULTS_H5READ_H
#define CLIPGRID_RESULTS_H5READ_H

#include <hdf5.h>

#define H5R_MAXDIM 8

typedef struct {
    int ndim;
    hsize_t dims[H5R_MAXDIM];
    size_t n;  /* element count */
} H5Shape;

hid_t h5r_open(const char *path);              /* read-only; < 0 with cg_error on failure */
void h5r_close(hid_t f);
int h5r_exists(hid_t loc, const char *path);   /* every component of a '/' path exists */
/* whole dataset converted to float32 / int (from any float or integer type); NULL if absent */
float *h5r_read_f32(hid_t loc, const char *path, H5Shape *shape);
int *h5r_read_int(hid_t loc, const char *path, H5Shape *shape);
/* attribute of object `obj_path` (e.g. "/config") as a string (fixed or variable length) */
char *h5r_attr_string(hid_t loc, const char *obj_path, const char *name);
/* attribute that is an array of strings; *n receives the count; free with h5r_free_strings */
char **h5r_attr_strings(hid_t loc, const char *obj_path, const char *name, int *n);
void h5r_free_strings(char **s, int n);
int h5r_attr_double(hid_t loc, const char *obj_path, const char *name, double *v);
/* names of the members of a group, sorted; *n receives the count */
char **h5r_group_members(hid_t loc, const char *path, int *n);

#endif
