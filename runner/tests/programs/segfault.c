#include <signal.h>
#include "framed.h"
/* Dies by SIGSEGV without a message. */
int main(void) {
    uint32_t n;
    read_input(&n);
    raise(SIGSEGV);
    return 0;
}
