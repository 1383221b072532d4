/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point they
 * each define, and a way to hand an input to code that only reads files.
 *
 * Every target is built twice: with clang and -fsanitize=fuzzer for
 * `make fuzz`, and with the normal compiler and replay.c for `make check`,
 * which feeds it the committed corpus and regression inputs. So nothing
 * here may depend on libFuzzer.
 *
 * Thread-safety: single-threaded, as libFuzzer runs a target.
 */
#ifndef REDGREY_FUZZ_H
#define REDGREY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* LLVMFuzzerTestOneInput - run one input; always 0 (a bug aborts) */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * fuzz_file - data[0..size) as the only content of a memory file that
 * this process keeps (one per slot, 0..3); returns a path that opens it
 * ("/proc/self/fd/N"). Aborts if the system has no memfd.
 */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

/* fuzz_str - data[0..size) as a malloc'ed NUL-terminated string (free it) */
char   *fuzz_str(const uint8_t *data, size_t size);

/* fuzz_check - abort with a message when an invariant does not hold */
#define fuzz_check(cond) ((cond) ? (void) 0 : fuzz_fail(#cond, __FILE__, __LINE__))
void    fuzz_fail(const char *what, const char *file, int line) __attribute__((noreturn));

#endif
