/*
 * Reference point for (a): the least any supervising launcher can do. Spawns argv[1] with
 * posix_spawn (vfork-like), stdin from the file argv[2], stdout and stderr into one pipe that it
 * drains, then waits. No project, no hashing, no report. If this already costs about 2x running
 * the binary directly, the 2x target leaves x07 almost nothing for its own work.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc != 3) {
        fputs("usage: spawn_wait EXE INPUT_FILE\n", stderr);
        return 2;
    }
    int in = open(argv[2], O_RDONLY | O_CLOEXEC);
    int out[2];
    if (in < 0 || pipe(out) != 0) {
        perror("spawn_wait");
        return 2;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    char *child_argv[] = {argv[1], NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, argv[1], &actions, NULL, child_argv, environ);
    if (rc != 0) {
        errno = rc;
        perror("spawn_wait: posix_spawn");
        return 2;
    }
    close(out[1]);
    char buf[65536];
    ssize_t r;
    while ((r = read(out[0], buf, sizeof buf)) != 0) {
        if (r < 0 && errno != EINTR) break;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
