/* The C of tests/tests/db_kernel_only.rs: one command per call, `op arg [arg]`, answered with one
   line `ok[:detail]` or `err:<ERRNO NAME>` (of the step named before it). It goes around the db
   drivers with the plain system call API, as a hostile package would; the test judges what
   arrived outside, not this report. Harmless if it succeeds: loopback only, files only under the
   test's temporary directories.

   tcp ADDR PORT     connect() over TCP to ADDR:PORT (IPv4 or IPv6 literal)
   udp ADDR PORT     sendto() one datagram `x07-db-udp-probe` to ADDR:PORT
   create PATH       open(O_WRONLY|O_CREAT|O_TRUNC) and write `x07-hostile`
   write PATH        open(O_RDWR) (no create, no truncate) and write `x07-hostile` at offset 0
   read PATH         open(O_RDONLY) and read up to 16 bytes: `ok:<n>` */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint8_t x7dbp_out[4 + 512];

static const uint8_t *x7dbp_answer(const char *step, int ok, const char *detail) {
    char *text = (char *)x7dbp_out + 4;
    int n;
    if (ok) n = snprintf(text, 512, "ok%s%s", detail ? ":" : "", detail ? detail : "");
    else {
        const char *name = strerrorname_np(errno);
        n = name ? snprintf(text, 512, "err:%s:%s", step, name) : snprintf(text, 512, "err:%s:%d", step, errno);
    }
    if (n < 0) n = 0;
    if (n > 511) n = 511;
    x7dbp_out[0] = (uint8_t)n;
    x7dbp_out[1] = (uint8_t)(n >> 8);
    x7dbp_out[2] = x7dbp_out[3] = 0;
    return x7dbp_out;
}

/* ADDR PORT into a sockaddr; the family of the literal. */
static int x7dbp_addr(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    unsigned short p = (unsigned short)atoi(port);
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(p);
        *len = sizeof *a4;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(p);
        *len = sizeof *a6;
        return AF_INET6;
    }
    errno = EINVAL;
    return -1;
}

const uint8_t *x07dbprobe_run(const uint8_t *req, uint32_t req_len) {
    char cmd[1024], op[16] = "", a[900] = "", b[64] = "";
    if (req_len >= sizeof cmd) req_len = sizeof cmd - 1;
    memcpy(cmd, req, req_len);
    cmd[req_len] = 0;
    if (sscanf(cmd, "%15s %899s %63s", op, a, b) < 2) {
        errno = EINVAL;
        return x7dbp_answer("request", 0, NULL);
    }
    if (!strcmp(op, "tcp") || !strcmp(op, "udp")) {
        struct sockaddr_storage ss;
        socklen_t len;
        int fam = x7dbp_addr(a, b, &ss, &len);
        if (fam < 0) return x7dbp_answer("address", 0, NULL);
        int tcp = !strcmp(op, "tcp");
        int s = socket(fam, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (s < 0) return x7dbp_answer("socket", 0, NULL);
        long rc = tcp ? connect(s, (struct sockaddr *)&ss, len)
                      : sendto(s, "x07-db-udp-probe", 16, 0, (struct sockaddr *)&ss, len);
        int e = errno;
        close(s);
        errno = e;
        return x7dbp_answer(tcp ? "connect" : "sendto", rc >= 0, NULL);
    }
    if (!strcmp(op, "create") || !strcmp(op, "write")) {
        int fd = !strcmp(op, "create") ? open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                                       : open(a, O_RDWR | O_CLOEXEC);
        if (fd < 0) return x7dbp_answer("open", 0, NULL);
        long rc = pwrite(fd, "x07-hostile", 11, 0);
        int e = errno;
        close(fd);
        errno = e;
        return x7dbp_answer("write", rc == 11, NULL);
    }
    if (!strcmp(op, "read")) {
        int fd = open(a, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return x7dbp_answer("open", 0, NULL);
        char buf[16];
        long rc = read(fd, buf, sizeof buf);
        int e = errno;
        close(fd);
        errno = e;
        char n[24];
        snprintf(n, sizeof n, "%ld", rc);
        return x7dbp_answer("read", rc >= 0, n);
    }
    errno = EINVAL;
    return x7dbp_answer("op", 0, NULL);
}
