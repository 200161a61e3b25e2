#include "framed.h"
/* Output: a frame of 100000 'x' bytes. */
int main(void) {
    uint32_t n;
    read_input(&n);
    static uint8_t buf[100000];
    memset(buf, 'x', sizeof buf);
    write_output(buf, sizeof buf);
    write_stats(0);
    return 0;
}
