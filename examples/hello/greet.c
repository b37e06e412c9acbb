#include "greet.h"
#include <stdio.h>

const char *compiled_for(void) {
#if defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__aarch64__)
    return "aarch64";
#elif defined(__arm__)
    return "arm";
#elif defined(__x86_64__)
    return "x86_64";
#elif defined(__i386__)
    return "i386";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__mips__)
    return "mips";
#else
    return "unknown";
#endif
}

int greet(char *buffer, size_t size, const char *name) {
    return snprintf(buffer, size, "hello, %s, from %s", name, compiled_for());
}
