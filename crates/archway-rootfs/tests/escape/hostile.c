/* A hostile "build step": tries every way out of the sandbox that tests/escape.rs names and
 * prints one line per attempt, `<name> blocked <errno name>` or `<name> ESCAPED`, plus a few
 * `fact <name> <value>` lines. It never changes host state when an attempt succeeds: files are
 * opened for writing without writing, a mounted tmpfs would only cover a sandbox path, and
 * module/BPF/kexec calls get invalid arguments (they fail with EINVAL/EFAULT/EBADF instead
 * of EPERM when the filter lets them through, which counts as ESCAPED).
 *
 * Usage: hostile BUILD_DIR PROJECT_DIR PORT MARKER */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <unistd.h>

static void report(const char *name, int result) {
    if (result < 0)
        printf("%s blocked %s\n", name, strerrorname_np(errno));
    else
        printf("%s ESCAPED\n", name);
    fflush(stdout);
}

/* The call must fail with EPERM (the filter or a missing capability), not for its arguments. */
static void report_permission(const char *name, long result) {
    if (result < 0 && (errno == EPERM || errno == EACCES || errno == ENOSYS))
        printf("%s blocked %s\n", name, strerrorname_np(errno));
    else
        printf("%s ESCAPED %s\n", name, result < 0 ? strerrorname_np(errno) : "0");
    fflush(stdout);
}

static int open_for_writing(const char *path) {
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd >= 0)
        close(fd);
    return fd;
}

static int create_file(const char *directory, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    return fd;
}

/* A field of a process's status as a fact `<prefix><field> <value>`. */
static void process_status_fact(const char *path, const char *prefix, const char *field) {
    FILE *status = fopen(path, "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':') {
            char *value = line + strlen(field) + 1;
            value += strspn(value, " \t");
            value[strcspn(value, "\n")] = 0;
            printf("fact %s%s %s\n", prefix, field, value);
        }
    if (status)
        fclose(status);
}

static void status_fact(const char *field) {
    process_status_fact("/proc/self/status", "", field);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: hostile BUILD_DIR PROJECT_DIR PORT MARKER\n");
        return 2;
    }
    const char *build = argv[1], *project = argv[2], *marker = argv[4];
    int port = atoi(argv[3]);

    /* The kernel's core dump handler runs as host root: the classic way out. */
    report("write-core-pattern", open_for_writing("/proc/sys/kernel/core_pattern"));
    report("write-sysrq-trigger", open_for_writing("/proc/sysrq-trigger"));
    report("write-proc-sys-vm", open_for_writing("/proc/sys/vm/drop_caches"));
    report_permission("mount-tmpfs", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
    report_permission("umount-root", umount2("/", MNT_DETACH));
    report_permission("new-user-namespace", unshare(CLONE_NEWUSER));
    report_permission("new-mount-namespace", unshare(CLONE_NEWNS));
    report_permission("ptrace-parent", ptrace(PTRACE_ATTACH, getppid(), NULL, NULL));
    report_permission("ptrace-init", ptrace(PTRACE_ATTACH, 1, NULL, NULL));
    report("write-init-memory", open_for_writing("/proc/1/mem"));
    /* The kernel lets it only when init holds no capability this process lacks: said at once. */
    process_status_fact("/proc/1/status", "init-", "CapPrm");
    process_status_fact("/proc/1/status", "init-", "CapEff");
    report_permission("load-module", syscall(SYS_finit_module, -1, "", 0));
    report_permission("load-module-image", syscall(SYS_init_module, NULL, 0, ""));
    report_permission("bpf", syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, NULL, 0));
    report_permission("kexec", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    report_permission("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
    report_permission("open-by-handle", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0));
    report_permission("perf-event-open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
    report_permission("userfaultfd", syscall(SYS_userfaultfd, 0));
    report_permission("io-uring", syscall(SYS_io_uring_setup, 1, NULL));
    report_permission("set-clock", syscall(SYS_settimeofday, NULL, NULL));
    report_permission("x32-abi", syscall(0x40000000 | SYS_getpid));
    {
        /* The i386 ABI through int 0x80: mount (21) must be refused there too. */
        long result;
        __asm__ volatile("int $0x80" : "=a"(result) : "a"(21), "b"(0), "c"(0), "d"(0) : "memory");
        if (result < 0) {
            errno = (int)-result;
            result = -1;
        }
        report_permission("i386-mount", result);
    }
    char c = 'x';
    report_permission("terminal-injection", ioctl(0, TIOCSTI, &c));

    /* Files outside the build directory. */
    report("write-root", create_file("/", "archway-escape"));
    report("write-usr", create_file("/usr", "archway-escape"));
    report("write-etc", create_file("/etc", "archway-escape"));
    report("write-project", create_file(project, "archway-escape"));
    report("mknod-disk", mknod("/tmp/archway-disk", S_IFBLK | 0600, makedev(8, 0)));
    report("open-host-disk", open("/dev/sda", O_RDONLY));
    report("open-sys", open("/sys/kernel", O_RDONLY | O_DIRECTORY));

    /* The network: only the sandbox's own loopback, where nothing listens on PORT. */
    {
        int sock = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
        report("connect-host-loopback", sock < 0 ? -1 : connect(sock, (struct sockaddr *)&address, sizeof address));
        if (sock >= 0)
            close(sock);
        FILE *dev = fopen("/proc/net/dev", "r");
        char line[512];
        int interfaces = 0;
        while (dev && fgets(line, sizeof line, dev)) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            *colon = 0;
            char *name = line + strspn(line, " ");
            printf("fact interface %s\n", name);
            interfaces++;
        }
        if (dev)
            fclose(dev);
        printf("fact interfaces %d\n", interfaces);
    }

    /* Processes: only the sandbox's own are visible. */
    {
        DIR *proc = opendir("/proc");
        struct dirent *entry;
        int processes = 0;
        while (proc && (entry = readdir(proc)))
            if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9')
                processes++;
        if (proc)
            closedir(proc);
        printf("fact processes %d\n", processes);
    }

    /* Descriptors the sandbox inherited (the filter's must be closed by bwrap). */
    {
        DIR *fds = opendir("/proc/self/fd");
        struct dirent *entry;
        while (fds && (entry = readdir(fds)))
            if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9' && atoi(entry->d_name) > 2 &&
                atoi(entry->d_name) != dirfd(fds))
            {
                char link[64], target[4096] = "";
                snprintf(link, sizeof link, "/proc/self/fd/%s", entry->d_name);
                ssize_t length = readlink(link, target, sizeof target - 1);
                target[length > 0 ? length : 0] = 0;
                printf("fact open-descriptor %s %s\n", entry->d_name, target);
            }
        if (fds)
            closedir(fds);
    }

    {
        /* bwrap's init (pid 1 inside) must carry the same filter: its memory is writable
         * by the build (same user), so an unfiltered init would be a way around it. */
        FILE *status = fopen("/proc/1/status", "r");
        char line[256];
        while (status && fgets(line, sizeof line, status))
            if (strncmp(line, "Seccomp:", 8) == 0)
                printf("fact init-seccomp %d\n", atoi(line + 8));
        if (status)
            fclose(status);
    }
    status_fact("CapEff");
    status_fact("CapBnd");
    status_fact("NoNewPrivs");
    status_fact("Seccomp");
    printf("fact uid %d\n", (int)getuid());

    /* The positive control: the build directory is writable, and the file's host owner tells
     * the test which host id the build ran as. */
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/made-inside", build);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        printf("fact build-directory-writable %s\n", fd >= 0 ? "yes" : strerrorname_np(errno));
        if (fd >= 0)
            close(fd);
        /* What an ordinary user gets on any system when it tries to become root or give a
         * file to root: EPERM (a test suite such as libuv's checks it). With root unmapped in
         * the user namespace it would be EINVAL. */
        printf("fact chown-root %s\n", chown(path, 0, 0) == 0 ? "0" : strerrorname_np(errno));
        printf("fact setgid-root %s\n", setgid(0) == 0 ? "0" : strerrorname_np(errno));
        printf("fact setuid-root %s\n", setuid(0) == 0 ? "0" : strerrorname_np(errno));
        fflush(stdout);
    }

    /* A daemon that tries to outlive the build: a new session, ignoring SIGHUP. */
    pid_t child = fork();
    if (child == 0) {
        setsid();
        signal(SIGHUP, SIG_IGN);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl("/bin/sleep", marker, "600", (char *)NULL);
        _exit(127);
    }
    printf("fact daemon-started %s\n", child > 0 ? "yes" : "no");
    fflush(stdout);
    return 0;
}
