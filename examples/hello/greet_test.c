#include "greet.h"
#include <stdio.h>
#include <string.h>

int main(void) {
    char line[128];
    int length = greet(line, sizeof line, "test");
    if (length <= 0 || strncmp(line, "hello, test, from ", 18) != 0) {
        fprintf(stderr, "unexpected greeting: %s\n", line);
        return 1;
    }
    if (strcmp(compiled_for(), "unknown") == 0) {
        fprintf(stderr, "unknown machine\n");
        return 1;
    }
    printf("ok: %s\n", line);
    return 0;
}
