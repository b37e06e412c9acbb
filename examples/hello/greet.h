#ifndef GREET_H
#define GREET_H
#include <stddef.h>
/* Writes "hello, NAME, from MACHINE" into buffer; returns the length written. */
int greet(char *buffer, size_t size, const char *name);
/* The machine this binary was compiled for, as the compiler's predefined macros tell. */
const char *compiled_for(void);
#endif
