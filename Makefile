# clipgrid — build of the library (core/, kernels/, results/), the program (runner/), the tests
# and the benchmarks. Dependencies are found with pkg-config; `make deps` shows what was found.

CC      ?= gcc
NVCC    ?= nvcc
BUILD   := build
PKGS    := ompi-c hdf5-openmpi yaml-0.1 openblas libjpeg libpng zlib libpcre2-8 jansson libzip nettle

# every dependency is required: fail early with the name of the missing one
PKG_MISSING := $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo y),,$(p)))
ifneq ($(strip $(PKG_MISSING)),)
$(error pkg-config cannot find: $(PKG_MISSING) — install the Debian packages listed in .ci/run)
endif

OPT     ?= -O3 -march=native
CFLAGS  += -std=c17 $(OPT) -fopenmp -g -Wall -Wextra -Wno-unused-parameter -I. \
           $(shell pkg-config --cflags $(PKGS)) -D_GNU_SOURCE
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -fopenmp -lm

NVCC_FOUND := $(shell command -v $(NVCC) 2>/dev/null)
comma      := ,
CUDA_SRC   := $(wildcard kernels/cuda/*.cu)

# CUDA backend: built when nvcc is found (CUDA_HOME defaults to nvcc's installation, NCCL_HOME
# to CUDA_HOME); CUDA_ARCH lists the GPU targets (CUDA 13 dropped those before sm_75).
ifneq ($(NVCC_FOUND),)
ifneq ($(CUDA_SRC),)
CUDA_HOME  ?= $(patsubst %/bin/,%,$(dir $(NVCC_FOUND)))
NCCL_HOME  ?= $(CUDA_HOME)
CUDA_ARCH  ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
NVCCFLAGS  ?= -O3 -g -std=c++17 $(CUDA_ARCH) -Xcompiler -Wall
NVCCFLAGS  += -I. -DCG_HAVE_CUDA -D_GNU_SOURCE
CFLAGS     += -DCG_HAVE_CUDA -I$(CUDA_HOME)/include
CUDA_OBJ   := $(CUDA_SRC:%.cu=$(BUILD)/%.o)
LDLIBS     += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart_static \
              -ldl -lrt -lpthread -lstdc++
# the NCCL communicator of the program (runner/comm_nccl.c) when nccl.h is there
NCCL_FOUND := $(wildcard $(NCCL_HOME)/include/nccl.h)
ifneq ($(NCCL_FOUND),)
CFLAGS     += -DCG_HAVE_NCCL -I$(NCCL_HOME)/include
RUN_LDLIBS += -L$(NCCL_HOME)/lib64 -L$(NCCL_HOME)/lib -Wl,-rpath,$(NCCL_HOME)/lib64 -lnccl
endif
endif
endif

LIB_SRC  := $(wildcard core/*.c) $(wildcard kernels/*.c) $(wildcard kernels/cpu/*.c) $(wildcard results/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CUDA_OBJ)
RUN_SRC  := $(wildcard runner/*.c)
RUN_OBJ  := $(RUN_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC:= $(wildcard tests/bench/bench_*.c)
BENCHES  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
ifneq ($(CUDA_OBJ),)
TESTS    += $(BUILD)/tests/test_cuda_host_products
endif

.PHONY: all deps test bench clean cuda-host-check
all: deps $(BUILD)/clipgrid $(TESTS) $(BENCHES)

deps:
	@$(foreach p,$(PKGS),echo "  found $(p) $(shell pkg-config --modversion $(p))";)
	@echo "  nvcc: $(if $(NVCC_FOUND),$(NVCC_FOUND) ($(if $(CUDA_SRC),CUDA backend built for $(CUDA_ARCH)$(comma) CUDA_HOME=$(CUDA_HOME),no CUDA sources: CPU only)),not found: CPU backend only)"
	@echo "  nccl: $(if $(NCCL_FOUND),$(NCCL_FOUND) (NCCL comm built),$(if $(CUDA_OBJ),nccl.h not found under NCCL_HOME=$(NCCL_HOME): no NCCL comm,not used without CUDA))"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libclipgrid.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/clipgrid: $(RUN_OBJ) $(BUILD)/libclipgrid.a
	$(CC) $(CFLAGS) $(RUN_OBJ) $(BUILD)/libclipgrid.a $(RUN_LDLIBS) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c tests/testlib.h $(BUILD)/libclipgrid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libclipgrid.a $(LDLIBS) -o $@

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libclipgrid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libclipgrid.a $(LDLIBS) -o $@

# the CUDA backend's products against the CPU on a host stand-in for cuBLAS (no GPU needed):
# built with the CUDA backend, so `make test` runs it wherever nvcc is found
HOST_CHECK := $(BUILD)/tests/test_cuda_host_products
$(HOST_CHECK): kernels/cuda/dev/host_blas_check.cu kernels/cuda/cuda_matmul.cu \
               kernels/cuda/cuda_attention.cu kernels/cuda/cuda_common.cuh kernels/precision.h \
               $(BUILD)/libclipgrid.a
	@mkdir -p $(dir $@)
	$(NVCC) -std=c++17 -O1 -I. -DCG_HAVE_CUDA -D_GNU_SOURCE $(CUDA_ARCH) \
	    kernels/cuda/dev/host_blas_check.cu $(filter $(BUILD)/kernels/cpu/%.o,$(LIB_OBJ)) \
	    $(BUILD)/kernels/op_checks.o $(BUILD)/core/util.o -Xcompiler -fopenmp \
	    $(shell pkg-config --libs openblas zlib) -lgomp -o $@
cuda-host-check: $(HOST_CHECK)
	$(HOST_CHECK)

test: all
	tests/run_tests.sh

bench: all
	tests/bench/run_bench.sh

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(RUN_OBJ:.o=.d)
