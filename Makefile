# clipgrid — build of the library (base/, kernels/, core/*/, results/), the program (runner/), the
# tests and the benchmarks. `make deps` shows where each dependency was found.

CC      ?= gcc
NVCC    ?= nvcc
BUILD   ?= build

# ---- dependency discovery (the one place that knows where MPI, HDF5 and BLAS come from) ---------
# Each dependency comes from pkg-config when it knows the package, else from what a cluster's
# module system provides:
#   MPI   pkg-config MPI_PC (default ompi-c; mpich for Debian's MPICH), else the MPI compiler
#         wrapper MPICC (default mpicc: MPICH, Intel MPI, Cray's cc, Open MPI under any prefix)
#         becomes the compiler (MPI_PC=none: the wrapper even where pkg-config knows an MPI)
#   HDF5  pkg-config HDF5_PC (hdf5-openmpi, or hdf5-mpich with MPI_PC=mpich), else HDF5_HOME
#         (HDF5_HOME/include, HDF5_HOME/lib), else the flags of the parallel HDF5 wrapper H5PCC
#   BLAS  BLAS=openblas (default) | blis | mkl: BLAS_CFLAGS/BLAS_LIBS when given, else pkg-config,
#         else -lopenblas, -lblis, -lmkl_rt (e.g. Debian's BLIS, which has no .pc file:
#         BLAS=blis BLAS_CFLAGS="-isystem /usr/include/x86_64-linux-gnu/blis-openmp" BLAS_LIBS=-lblis)
#   the rest (libyaml, libjpeg, libpng, zlib, PCRE2, jansson): pkg-config, else -lNAME
# e.g. a second build with MPICH beside the default one:  make BUILD=build-mpich MPI_PC=mpich
comma    := ,
pc_has   = $(shell pkg-config --exists $(1) 2>/dev/null && echo y)
pc_found = $(1) $(shell pkg-config --modversion $(1)) (pkg-config)

MPI_PC  ?= ompi-c
MPICC   ?= mpicc
ifeq ($(call pc_has,$(MPI_PC)),y)
MPI_CFLAGS := $(shell pkg-config --cflags $(MPI_PC))
MPI_LIBS   := $(shell pkg-config --libs $(MPI_PC))
MPI_FROM   := $(call pc_found,$(MPI_PC))
else ifneq ($(shell command -v $(MPICC) 2>/dev/null),)
CC         := $(MPICC)
MPI_FROM   := the compiler wrapper $(shell command -v $(MPICC)) (pkg-config does not know $(MPI_PC))
else
$(error MPI: pkg-config does not know $(MPI_PC) and the compiler wrapper MPICC=$(MPICC) is not on PATH: load the cluster's MPI module, set MPICC, or install Debian's libopenmpi-dev)
endif

HDF5_PC ?= $(if $(filter mpich,$(MPI_PC)),hdf5-mpich,hdf5-openmpi)
H5PCC   ?= h5pcc
ifeq ($(call pc_has,$(HDF5_PC)),y)
HDF5_CFLAGS := $(shell pkg-config --cflags $(HDF5_PC))
HDF5_LIBS   := $(shell pkg-config --libs $(HDF5_PC))
HDF5_FROM   := $(call pc_found,$(HDF5_PC))
else ifneq ($(HDF5_HOME),)
HDF5_CFLAGS := -I$(HDF5_HOME)/include
HDF5_LIBS   := -L$(HDF5_HOME)/lib -Wl,-rpath,$(HDF5_HOME)/lib -lhdf5
HDF5_FROM   := HDF5_HOME=$(HDF5_HOME)
else ifneq ($(shell command -v $(H5PCC) 2>/dev/null),)
# `h5pcc -shlib -show` prints the wrapper's compile line with the shared libraries: keep its flags
# and libraries, not its compiler
HDF5_SHOW   := $(shell $(H5PCC) -shlib -show 2>/dev/null)
HDF5_CFLAGS := $(filter -I% -D%,$(HDF5_SHOW))
HDF5_LIBS   := $(filter -L% -l% -Wl% %.a %.so,$(HDF5_SHOW)) \
               $(patsubst -L%,-Wl$(comma)-rpath$(comma)%,$(filter -L%,$(HDF5_SHOW)))
HDF5_FROM   := the flags of $(shell command -v $(H5PCC)) (pkg-config does not know $(HDF5_PC))
else
$(error HDF5: pkg-config does not know $(HDF5_PC), HDF5_HOME is not set and $(H5PCC) is not on PATH: load the cluster's parallel HDF5 module, set HDF5_HOME, or install Debian's libhdf5-openmpi-dev)
endif

BLAS    ?= openblas
BLAS_PC_openblas := openblas
BLAS_PC_blis     := blis
BLAS_PC_mkl      := mkl-dynamic-lp64-gomp
BLAS_L_openblas  := -lopenblas
BLAS_L_blis      := -lblis
BLAS_L_mkl       := -lmkl_rt
ifeq ($(BLAS_PC_$(BLAS)),)
$(error BLAS=$(BLAS): must be openblas, blis or mkl)
endif
ifneq ($(BLAS_LIBS),)
BLAS_FROM   := BLAS_LIBS=$(BLAS_LIBS) BLAS_CFLAGS=$(BLAS_CFLAGS) (given)
else ifeq ($(call pc_has,$(BLAS_PC_$(BLAS))),y)
BLAS_CFLAGS := $(shell pkg-config --cflags $(BLAS_PC_$(BLAS)))
BLAS_LIBS   := $(shell pkg-config --libs $(BLAS_PC_$(BLAS)))
BLAS_FROM   := $(call pc_found,$(BLAS_PC_$(BLAS)))
else
BLAS_LIBS   := $(BLAS_L_$(BLAS))
BLAS_FROM   := $(BLAS_L_$(BLAS)) (pkg-config does not know $(BLAS_PC_$(BLAS)))
endif

# the libraries every Linux distribution packages: pkg-config, else the plain -l name
OTHER_PKGS := yaml-0.1 libjpeg libpng zlib libpcre2-8 jansson plplot libcrypto libzip nettle
lib_libcrypto := -lcrypto
lib_libzip := -lzip
lib_nettle := -lnettle
lib_plplot := -lplplot
lib_yaml-0.1 := -lyaml
lib_libjpeg := -ljpeg
lib_libpng := -lpng
lib_zlib := -lz
lib_libpcre2-8 := -lpcre2-8
lib_jansson := -ljansson
OTHER_PC   := $(foreach p,$(OTHER_PKGS),$(if $(call pc_has,$(p)),$(p)))
OTHER_BARE := $(filter-out $(OTHER_PC),$(OTHER_PKGS))
OTHER_CFLAGS := $(if $(OTHER_PC),$(shell pkg-config --cflags $(OTHER_PC)))
OTHER_LIBS   := $(if $(OTHER_PC),$(shell pkg-config --libs $(OTHER_PC))) \
                $(foreach p,$(OTHER_BARE),$(lib_$(p)))

# the instruction set: x86-64-v3 (AVX2, FMA: what the CPU kernels are written for) by default, so a
# binary built on a login node runs on any compute node of the last ten years; NATIVE=1 for the
# build machine's own (kernels/cpu/cpu_target.c checks at start that the CPU has what was chosen)
ifeq ($(NATIVE),1)
ARCH    ?= -march=native
else ifeq ($(shell uname -m),x86_64)
ARCH    ?= -march=x86-64-v3
endif
OPT     ?= -O3 $(ARCH)

# Sanitizer builds, each in its own folder so the normal build is untouched:
#   make test SANITIZE=1   everything with ASan + UBSan (no recovery) in build-san, then the suite
#   make fuzz              (internally FUZZ_BUILD=1) the library and the libFuzzer harnesses of
#                          tests/fuzz with clang in build-fuzz
# Neither builds the CUDA backend (host sanitizers do not see device code).
ifeq ($(SANITIZE),1)
BUILD   := build-san
OPT     := -O2 $(ARCH) -fno-omit-frame-pointer
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
endif
ifeq ($(FUZZ_BUILD),1)
BUILD   := build-fuzz
CC      := clang
OPT     := -O1 -gline-tables-only -fno-omit-frame-pointer
SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
endif

CFLAGS  += -std=c17 $(OPT) $(SAN) -fopenmp -g -Wall -Wextra -Wno-unused-parameter -I. \
           $(MPI_CFLAGS) $(HDF5_CFLAGS) $(BLAS_CFLAGS) -DCG_BLAS_$(BLAS) $(OTHER_CFLAGS) -D_GNU_SOURCE \
           -DCG_BUILD_ARCH='"$(strip $(ARCH))"'
LDLIBS  += $(MPI_LIBS) $(HDF5_LIBS) $(BLAS_LIBS) $(OTHER_LIBS) -fopenmp -lm $(SAN) \
           -Wl,--undefined=k_cpu_target_check

NVCC_FOUND := $(if $(SAN),,$(shell command -v $(NVCC) 2>/dev/null))
CUDA_SRC   := $(wildcard kernels/cuda/*.cu)
# CUDA=auto (default): the CUDA backend when nvcc is found; CUDA=0: a CPU-only build even there
CUDA       ?= auto
ifeq ($(CUDA),0)
NVCC_FOUND :=
endif

# CUDA backend: built when nvcc is found (CUDA_HOME defaults to nvcc's installation, NCCL_HOME
# to CUDA_HOME); CUDA_ARCH lists the GPU targets (CUDA 13 dropped those before sm_75). The CUDA
# libraries and their rpath are linked in this build only.
ifneq ($(NVCC_FOUND),)
ifneq ($(CUDA_SRC),)
CUDA_HOME  ?= $(patsubst %/bin/,%,$(dir $(NVCC_FOUND)))
NCCL_HOME  ?= $(CUDA_HOME)
CUDA_ARCH  ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
NVCCFLAGS  ?= -O3 -g -std=c++17 $(CUDA_ARCH) -Xcompiler -Wall
NVCCFLAGS  += -I. -DCG_HAVE_CUDA -D_GNU_SOURCE $(MPI_CFLAGS)
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

LIB_SRC  := $(wildcard base/*.c) $(wildcard core/*/*.c) $(wildcard kernels/*.c) $(wildcard kernels/cpu/*.c) $(wildcard results/*.c)
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

.PHONY: all deps test test-multinode bench clean cuda-host-check check-layers fuzz fuzz-ci \
        fuzz-build fuzz-seeds check-demo-model FORCE

# the program's version (git describe), compiled into runner/version.c; the header is rewritten
# only when the text changes, so an unchanged tree rebuilds nothing
GIT_VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
$(BUILD)/version.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define CLIPGRID_GIT_DESCRIBE "$(GIT_VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp
$(BUILD)/runner/version.o: $(BUILD)/version.h
$(BUILD)/runner/version.o: CFLAGS += -I$(BUILD)
all: deps $(BUILD)/clipgrid $(TESTS) $(BENCHES)

deps:
	@echo "  compiler: $(CC) ($(shell $(CC) -dumpfullversion -dumpversion 2>/dev/null | head -n 1)), $(if $(strip $(ARCH)),$(strip $(ARCH)),default instruction set)"
	@echo "  MPI: $(MPI_FROM)"
	@echo "  HDF5: $(HDF5_FROM)"
	@echo "  BLAS=$(BLAS): $(BLAS_FROM)"
	@$(foreach p,$(OTHER_PC),echo "  $(call pc_found,$(p))";)
	@$(foreach p,$(OTHER_BARE),echo "  $(p): not known to pkg-config, linked as $(lib_$(p))";)
	@echo "  nvcc: $(if $(NVCC_FOUND),$(NVCC_FOUND) ($(if $(CUDA_SRC),CUDA backend built for $(CUDA_ARCH)$(comma) CUDA_HOME=$(CUDA_HOME),no CUDA sources: CPU only)),$(if $(filter 0,$(CUDA)),CUDA=0: CPU backend only,not found: CPU backend only))"
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
	    $(BUILD)/kernels/op_checks.o $(BUILD)/base/util.o -Xcompiler -fopenmp \
	    $(BLAS_LIBS) $(OTHER_LIBS) -lgomp -o $@
cuda-host-check: $(HOST_CHECK)
	$(HOST_CHECK)

# SANITIZE=1: ASan/UBSan options and the Open MPI leak suppressions are set by run_tests.sh
test: all check-layers
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run_tests.sh

# ---- fuzzing (tests/fuzz/README.md) ----------------------------------------------------------
# One libFuzzer harness per input kind; each entry NAME is tests/fuzz/fuzz_NAME.c with its seeds
# in tests/fuzz/corpus/NAME/ and an optional dictionary tests/fuzz/NAME.dict.
# pickle and torchckpt: the PyTorch checkpoint readers (core/base/torch_pickle.c, core/model/torch_checkpoint.c).
FUZZ_TARGETS := safetensors sweep dataset image vocab vocab_deep tokenize runfile checkpoint \
                pickle torchckpt
FUZZ_SECONDS ?= 60
FUZZERS      := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
RUNNER_LIB   := $(BUILD)/librunner.a

$(RUNNER_LIB): $(filter-out $(BUILD)/runner/main.o,$(RUN_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(RUNNER_LIB) $(BUILD)/libclipgrid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $< $(RUNNER_LIB) $(BUILD)/libclipgrid.a $(RUN_LDLIBS) \
	    $(LDLIBS) -o $@

fuzz-build: $(FUZZERS)

# the binary seeds of tests/fuzz/corpus (safetensors, images, HDF5 files), made by clipgrid's own
# writers with the normal build: run after a format change, then commit the files
$(BUILD)/fuzz/make_seeds: tests/fuzz/make_seeds.c $(BUILD)/libclipgrid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libclipgrid.a $(LDLIBS) -o $@
fuzz-seeds: $(BUILD)/fuzz/make_seeds
	$(BUILD)/fuzz/make_seeds tests/fuzz/corpus

# every harness for FUZZ_SECONDS each (one at a time, nice 19), then execs/edges/crashes per harness
fuzz:
	$(MAKE) FUZZ_BUILD=1 fuzz-build
	tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# CI: 30 s per harness (a few minutes in all), failing on any crash, leak or regression input;
# a fixed seed, so that a red CI is a finding anyone can replay (`make fuzz` explores anew)
fuzz-ci:
	$(MAKE) FUZZ_BUILD=1 fuzz-build
	FUZZ_FLAGS="-seed=1 $(FUZZ_FLAGS)" tests/fuzz/run_fuzz.sh 30 $(FUZZ_TARGETS)

# no #include may run upward or sideways between the layers (tests/check_layers.sh lists them)
check-layers:
	@tests/check_layers.sh

# the multi-node test alone (simulated nodes in network namespaces; root): also part of `make test`
test-multinode: $(BUILD)/clipgrid
	CLIPGRID=$(BUILD)/clipgrid timeout 900 bash tests/cli_multinode.sh

# the shipped demo model rebuilt from the command in its metadata, compared bit for bit, on the
# thread counts of THREADS (default "1 2"; minutes each): not part of `make test`
check-demo-model: $(BUILD)/clipgrid
	CLIPGRID=$(BUILD)/clipgrid THREADS="$(THREADS)" bash tests/check_demo_model.sh

bench: all
	tests/bench/run_bench.sh

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(RUN_OBJ:.o=.d)
