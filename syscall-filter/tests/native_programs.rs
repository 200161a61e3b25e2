//! Real dynamically linked C programs, compiled with gcc, exec'd after the filters are
//! installed (as the launcher does): glibc's loader, stdio, malloc, threads (clone3 falls back to
//! clone), getaddrinfo with its nscd / netlink probes refused, system() through /bin/sh, and
//! libcurl with OpenSSL talking to listeners on 127.0.0.1 that the test opens.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{cstr, errno, status_text, Prepared};
use x07_syscall_filter::{program_filters, FilterNeeds};

/// stdio, malloc, pthreads, getaddrinfo (main thread and a worker, like curl's threaded
/// resolver; the worker with AI_ADDRCONFIG, whose netlink probe is refused), system(), and
/// optionally a TCP connect to 127.0.0.1:argv[1].
const PROGRAM: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int resolve(const char *who, int flags) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    int g = getaddrinfo("localhost", "80", &hints, &res);
    if (g != 0) {
        printf("%s getaddrinfo: %s\n", who, gai_strerror(g));
        return 1;
    }
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        char buf[64] = "";
        const void *addr = a->ai_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
        inet_ntop(a->ai_family, addr, buf, sizeof buf);
        printf("%s resolved %s\n", who, buf);
    }
    freeaddrinfo(res);
    return 0;
}

static void *worker(void *arg) {
    long n = (long)arg;
    size_t size = (size_t)1 << 20;
    unsigned char *p = malloc(size);
    if (p == NULL) return (void *)-1L;
    memset(p, (int)n, size);
    long sum = 0;
    for (size_t i = 0; i < size; i += 4096) sum += p[i];
    free(p);
    if (n == 1 && resolve("thread", AI_ADDRCONFIG) != 0) return (void *)-1L;
    return (void *)sum;
}

int main(int argc, char **argv) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++) {
        int e = pthread_create(&t[i], NULL, worker, (void *)(i + 1));
        if (e != 0) {
            printf("pthread_create: %s\n", strerror(e));
            return 10;
        }
    }
    long total = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        if ((long)r < 0) return 11;
        total += (long)r;
    }
    printf("threads %ld\n", total);
    if (resolve("main", 0) != 0) return 12;
    int st = system("exec /bin/true");
    printf("system %d\n", st);
    if (st != 0) return 13;
    if (argc > 1) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((unsigned short)atoi(argv[1]));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
            printf("connect errno %d\n", errno);
        else printf("connect ok\n");
        if (fd >= 0) close(fd);
    }
    fflush(stdout);
    return 0;
}
"#;

/// libcurl (OpenSSL flavour) without its headers: the few declarations needed, so the test only
/// needs the shared library.
const CURL_PROGRAM: &str = r#"
#include <stdio.h>
#include <string.h>
typedef void CURL;
extern int curl_global_init(long flags);
extern CURL *curl_easy_init(void);
extern int curl_easy_setopt(CURL *curl, int option, ...);
extern int curl_easy_perform(CURL *curl);
extern int curl_easy_getinfo(CURL *curl, int info, ...);
extern void curl_easy_cleanup(CURL *curl);
extern const char *curl_easy_strerror(int code);
#define CURLOPT_WRITEDATA 10001
#define CURLOPT_URL 10002
#define CURLOPT_TIMEOUT 13
#define CURLOPT_SSL_VERIFYPEER 64
#define CURLOPT_SSL_VERIFYHOST 81
#define CURLOPT_NOSIGNAL 99
#define CURLOPT_WRITEFUNCTION 20011
#define CURLINFO_RESPONSE_CODE 0x200002

static size_t on_body(char *data, size_t size, size_t n, void *user) {
    (void)data;
    *(size_t *)user += size * n;
    return size * n;
}

int main(int argc, char **argv) {
    if (curl_global_init(3) != 0) return 20;
    for (int i = 1; i < argc; i++) {
        CURL *c = curl_easy_init();
        if (c == NULL) return 21;
        size_t got = 0;
        long code = 0;
        curl_easy_setopt(c, CURLOPT_URL, argv[i]);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
        int r = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        printf("%s -> %s, status %ld, %zu bytes\n", argv[i], curl_easy_strerror(r), code, got);
        curl_easy_cleanup(c);
        if (r != 0 || code != 200 || got == 0) return 22;
    }
    fflush(stdout);
    return 0;
}
"#;

/// Compiles `source` with gcc into dir; the binary's path, or gcc's complaint.
fn compile(dir: &Path, name: &str, source: &str, libs: &[&str]) -> Result<PathBuf, String> {
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let out = Command::new("gcc")
        .args(["-O1", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .args(libs)
        .output()
        .map_err(|e| format!("cannot run gcc: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(bin)
}

/// Forks; the child installs the filters and execs `argv` with a minimal environment, its
/// stdout and stderr on a pipe and a 60 s alarm (which survives exec) against hangs. The exit
/// status and everything it printed.
fn run_filtered(needs: &FilterNeeds, argv: &[&str]) -> (i32, String) {
    let filters = Prepared::new(program_filters(needs).unwrap());
    let args: Vec<_> = argv.iter().map(|a| cstr(a)).collect();
    let mut arg_ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());
    let env = [cstr("PATH=/usr/bin:/bin")];
    let env_ptrs = [env[0].as_ptr(), std::ptr::null()];
    let mut fds = [0i32; 2];
    // SAFETY: fork / exec with memory prepared before the fork; the child only makes system
    // calls and leaves with exec or _exit.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            libc::dup2(fds[1], 1);
            libc::dup2(fds[1], 2);
            libc::alarm(60);
            let e = filters.install();
            if e != 0 {
                libc::_exit(100);
            }
            libc::execve(arg_ptrs[0], arg_ptrs.as_ptr(), env_ptrs.as_ptr());
            libc::_exit(101 + (errno() & 0x7f).min(20));
        }
        libc::close(fds[1]);
        let mut out = Vec::new();
        let mut reader = std::fs::File::from_raw_fd(fds[0]);
        reader.read_to_end(&mut out).unwrap();
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 && errno() == libc::EINTR {}
        (status, String::from_utf8_lossy(&out).into_owned())
    }
}

fn assert_ran(what: &str, (status, out): &(i32, String)) {
    assert!(
        libc::WIFEXITED(*status) && libc::WEXITSTATUS(*status) == 0,
        "{what}: {} with output:\n{out}",
        status_text(*status)
    );
}

#[test]
fn glibc_program_runs_without_network() {
    let dir = tempfile::tempdir().unwrap();
    let bin = compile(dir.path(), "prog", PROGRAM, &[]).expect("gcc must build the test program");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let r = run_filtered(&FilterNeeds::default(), &[bin.to_str().unwrap(), &port]);
    assert_ran("without network", &r);
    let out = &r.1;
    assert!(out.contains("threads 2560"), "{out}");
    assert!(out.contains("main resolved 127.0.0.1"), "{out}");
    assert!(out.contains("thread resolved 127.0.0.1"), "{out}");
    assert!(out.contains("system 0"), "{out}");
    assert!(
        out.contains(&format!("connect errno {}", libc::EPERM)),
        "{out}"
    );
}

#[test]
fn glibc_program_runs_with_tcp_and_udp() {
    let dir = tempfile::tempdir().unwrap();
    let bin = compile(dir.path(), "prog", PROGRAM, &[]).expect("gcc must build the test program");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let needs = FilterNeeds {
        net: true,
        tcp: true,
        udp: true,
    };
    let r = run_filtered(&needs, &[bin.to_str().unwrap(), &port]);
    assert_ran("with tcp and udp", &r);
    assert!(r.1.contains("main resolved 127.0.0.1"), "{}", r.1);
    assert!(r.1.contains("connect ok"), "{}", r.1);
}

/// Serves one plain HTTP response to the first connection on a thread; the URL.
fn http_once() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut s, _) = loop {
            match listener.accept() {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("nobody connected: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        let _ =
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    });
    (url, server)
}

/// An `openssl s_server -www` on 127.0.0.1 with a throwaway certificate, once it accepts
/// connections; None when the openssl tool is missing.
fn tls_server(dir: &Path) -> Option<(String, std::process::Child)> {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args(["-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    if !made.status.success() {
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-key",
        ])
        .arg(&key)
        .arg("-cert")
        .arg(&cert)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((format!("https://127.0.0.1:{port}/"), child))
}

#[test]
fn libcurl_with_openssl_fetches_over_tcp_only() {
    let dir = tempfile::tempdir().unwrap();
    let bin = match compile(dir.path(), "fetch", CURL_PROGRAM, &["-l:libcurl.so.4"]) {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIP: libcurl (libcurl4-openssl-dev) is not installed: {why}");
            return;
        }
    };
    let (http, server) = http_once();
    let mut urls = vec![http.clone()];
    let tls = tls_server(dir.path());
    match &tls {
        Some((url, _)) => urls.push(url.clone()),
        None => eprintln!("SKIP (https part): the openssl tool is not installed"),
    }
    let mut argv = vec![bin.to_str().unwrap()];
    argv.extend(urls.iter().map(String::as_str));
    // UDP off: curl's IPv6 probe (a SOCK_DGRAM socket) is refused and curl carries on.
    let r = run_filtered(
        &FilterNeeds {
            net: true,
            tcp: true,
            udp: false,
        },
        &argv,
    );
    if let Some((_, mut child)) = tls {
        let _ = child.kill();
        let _ = child.wait();
    }
    server.join().unwrap();
    assert_ran("libcurl", &r);
    for url in &urls {
        assert!(
            r.1.contains(&format!("{url} -> No error, status 200")),
            "{}",
            r.1
        );
    }
}
