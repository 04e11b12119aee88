/* kernels/cpu/cpu_blas.h — the BLAS the build chose (Makefile BLAS=openblas|blis|mkl, which
 * defines CG_BLAS_openblas, CG_BLAS_blis or CG_BLAS_mkl): its CBLAS header and the call that sets
 * its own thread count (the CPU backend runs it single-threaded inside OpenMP regions). */
#ifndef CG_CPU_BLAS_H
#define CG_CPU_BLAS_H

#if defined(CG_BLAS_mkl)
#include <mkl_cblas.h>    // defines: cblas_sgemm
#include <mkl_service.h>  // defines: mkl_set_num_threads
#define cpu_blas_set_threads(n) mkl_set_num_threads(n)
#elif defined(CG_BLAS_blis)
#pragma GCC diagnostic push  /* blis.h defines many static inline helpers we do not use */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <blis.h>  // defines: cblas_sgemm (BLIS built with CBLAS), bli_thread_set_num_threads
#pragma GCC diagnostic pop
#define cpu_blas_set_threads(n) bli_thread_set_num_threads(n)
#else
#include <cblas.h>  // defines: cblas_sgemm, openblas_set_num_threads
#define cpu_blas_set_threads(n) openblas_set_num_threads(n)
#endif

#endif
