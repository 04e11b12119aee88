# clipgrid — build of the library (core/, kernels/, results/), the program (runner/), the tests
# and the benchmarks. Dependencies are found with pkg-config; `make deps` shows what was found.

CC      ?= gcc
NVCC    ?= nvcc
BUILD   := build
PKGS    := ompi-c hdf5-openmpi yaml-0.1 openblas libjpeg libpng zlib libpcre2-8 jansson

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
CUDA_SRC   := $(wildcard kernels/cuda/*.cu)

LIB_SRC  := $(wildcard core/*.c) $(wildcard kernels/*.c) $(wildcard kernels/cpu/*.c) $(wildcard results/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
RUN_SRC  := $(wildcard runner/*.c)
RUN_OBJ  := $(RUN_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC:= $(wildcard tests/bench/bench_*.c)
BENCHES  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test bench clean
all: deps $(BUILD)/clipgrid $(TESTS) $(BENCHES)

deps:
	@$(foreach p,$(PKGS),echo "  found $(p) $(shell pkg-config --modversion $(p))";)
	@echo "  nvcc: $(if $(NVCC_FOUND),$(NVCC_FOUND) ($(if $(CUDA_SRC),CUDA backend built,no CUDA backend written yet: CPU only)),not found: CPU backend only)"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libclipgrid.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/clipgrid: $(RUN_OBJ) $(BUILD)/libclipgrid.a
	$(CC) $(CFLAGS) $(RUN_OBJ) $(BUILD)/libclipgrid.a $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c tests/testlib.h $(BUILD)/libclipgrid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libclipgrid.a $(LDLIBS) -o $@

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libclipgrid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libclipgrid.a $(LDLIBS) -o $@

test: all
	tests/run_tests.sh

bench: all
	tests/bench/run_bench.sh

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(RUN_OBJ:.o=.d)
