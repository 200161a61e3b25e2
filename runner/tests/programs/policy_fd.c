/* Reads the descriptor named by --x07-policy-fd=N to EOF and answers with its bytes, followed by
   the number of open descriptors above 2 (as one byte), so the test sees both the handover and
   that nothing else leaked into the child. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) exit(2);
        c += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    int fd = -1;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--x07-policy-fd=", 16) == 0) fd = atoi(argv[i] + 16);
    unsigned char buf[4096];
    size_t len = 0;
    if (fd >= 0) {
        ssize_t r;
        while ((r = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)r;
        close(fd);
    }
    int open_fds = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d)) open_fds++;
    if (d) closedir(d);
    buf[len++] = (unsigned char)open_fds;
    uint32_t n = (uint32_t)len;
    write_all(1, &n, 4);
    write_all(1, buf, len);
    fprintf(stderr, "{\"fuel_used\":1,\"heap_used\":0}\n");
    return 0;
}
